import { describe, expect, it } from 'vitest';
import { LiveFeeds } from './live-feeds';

interface Line { id: string; text: string }

/** An in-memory table whose ids commit in order, like runtime_logs of one app. */
function table() {
  const rows: Line[] = [];
  let reads = 0;
  return {
    rows,
    get reads() {
      return reads;
    },
    append(n: number) {
      for (let i = 0; i < n; i++) rows.push({ id: String(rows.length + 1), text: `line ${rows.length + 1}` });
    },
    source: {
      readAfter: async (_key: string, after: string, limit: number) => {
        reads++;
        await Promise.resolve();
        return rows.filter((r) => Number(r.id) > Number(after)).slice(0, limit);
      },
      idOf: (r: Line) => r.id,
    },
  };
}
const flush = () => new Promise((r) => setImmediate(r));

describe('LiveFeeds: history, then live, each line once', () => {
  it('sends history in pages, then lines committed while it read and after, with no line twice', async () => {
    const t = table();
    t.append(25);
    const feeds = new LiveFeeds<Line>(t.source, (err) => {
      throw err;
    }, 10);
    const got: Line[] = [];
    const sub = feeds.subscribe('app', '5', (rows) => {
      got.push(...rows);
      if (got.length === 10) t.append(7); // committed while history is being read
    });
    await sub.ready;
    t.append(3);
    feeds.wake('app');
    feeds.wake('app');
    await flush();
    await flush();
    expect(got.map((l) => Number(l.id))).toEqual(Array.from({ length: 30 }, (_, i) => i + 6));
    sub.cancel();
    expect(feeds.keys).toBe(0);
  });

  it('gives each subscriber only what is after its own cursor', async () => {
    const t = table();
    t.append(5);
    const feeds = new LiveFeeds<Line>(t.source, () => undefined, 100);
    const a: string[] = [];
    const b: string[] = [];
    const sa = feeds.subscribe('app', '0', (rows) => a.push(...rows.map((r) => r.id)));
    const sb = feeds.subscribe('app', '4', (rows) => b.push(...rows.map((r) => r.id)));
    await Promise.all([sa.ready, sb.ready]);
    t.append(2);
    feeds.wake('app');
    await flush();
    await flush();
    expect(a).toEqual(['1', '2', '3', '4', '5', '6', '7']);
    expect(b).toEqual(['5', '6', '7']);
    sa.cancel();
    sb.cancel();
  });

  it('a cancelled subscriber receives nothing more and a feed without subscribers is not read', async () => {
    const t = table();
    const feeds = new LiveFeeds<Line>(t.source, () => undefined, 100);
    const got: string[] = [];
    const sub = feeds.subscribe('app', '0', (rows) => got.push(...rows.map((r) => r.id)));
    await sub.ready;
    sub.cancel();
    const readsBefore = t.reads;
    t.append(3);
    feeds.wake('app');
    await flush();
    expect(got).toEqual([]);
    expect(t.reads).toBe(readsBefore);
  });
});
