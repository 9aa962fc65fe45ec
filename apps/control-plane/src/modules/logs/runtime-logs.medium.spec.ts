import type { LogLine } from '@berth/contracts';
import { FakeClock } from '@berth/core';
import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../../../test/support/database';
import { LiveFeeds } from './live-feeds';
import { RuntimeLogsRepository, type StoredLogLine } from './runtime-logs.repository';
import { runRetention } from './telemetry-retention';

const batch = (container: number, from: number, n: number): LogLine[] =>
  Array.from({ length: n }, (_, i) => ({ seq: from + i, ts: '2026-01-01T00:00:00.000Z', stream: 'stdout', text: `c${container}:${from + i}`, truncated: false }));

describe('runtime_logs (real PostgreSQL)', () => {
  let db: TestDatabase;
  let pool: Pool;
  let repo: RuntimeLogsRepository;

  beforeAll(async () => {
    db = await createTestDatabase();
    pool = new Pool({ connectionString: db.url, max: 20 });
    pool.on('error', () => undefined);
    repo = new RuntimeLogsRepository(pool);
  });
  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  it('a reader that resumes after the last id it saw never skips a line, with many concurrent writers', async () => {
    const appId = randomUUID();
    const deploymentId = randomUUID();
    const WRITERS = 12;
    const BATCHES = 40;
    const PER_BATCH = 25;
    const total = WRITERS * BATCHES * PER_BATCH;
    // A live subscriber woken after every commit, as NOTIFY wakes it, reading from its cursor.
    const errors: unknown[] = [];
    const feeds = new LiveFeeds<StoredLogLine>({ readAfter: (key, after, limit) => repo.readAfter(key, after, limit), idOf: (l) => l.id }, (err) => void errors.push(err), 100);
    const seen: StoredLogLine[] = [];
    const sub = feeds.subscribe(appId, '0', (rows) => seen.push(...rows));
    await sub.ready;
    // A polling reader, too: the plainest consumer of the cursor.
    let cursor = '0';
    const polled: string[] = [];
    let writing = true;
    const poller = (async () => {
      while (writing || polled.length < total) {
        const rows = await repo.readAfter(appId, cursor, 500);
        if (rows.length > 0) cursor = rows[rows.length - 1].id;
        polled.push(...rows.map((r) => r.text));
        if (!writing && rows.length === 0) break;
      }
    })();
    await Promise.all(
      Array.from({ length: WRITERS }, async (_, w) => {
        for (let b = 0; b < BATCHES; b++) {
          await repo.insert({ appId, deploymentId, containerId: `c${w}` }, batch(w, b * PER_BATCH + 1, PER_BATCH), new Date());
          feeds.wake(appId);
        }
      }),
    );
    writing = false;
    await poller;
    feeds.wake(appId);
    await expect.poll(() => (errors.length > 0 ? -1 : seen.length), { timeout: 30_000 }).toBe(total);
    expect(errors).toEqual([]);
    sub.cancel();
    expect(new Set(polled).size).toBe(total);
    expect(polled).toHaveLength(total);
    expect(new Set(seen.map((l) => l.text)).size).toBe(total);
    const ids = seen.map((l) => BigInt(l.id));
    expect(ids.every((id, i) => i === 0 || id > ids[i - 1])).toBe(true);
    // Each container's lines in seq order.
    for (let w = 0; w < WRITERS; w++) {
      const mine = seen.filter((l) => l.text.startsWith(`c${w}:`)).map((l) => Number(l.text.split(':')[1]));
      expect(mine).toEqual(Array.from({ length: BATCHES * PER_BATCH }, (_, i) => i + 1));
    }
    // A read in progress when the last subscriber left finishes, then the feed is dropped.
    await expect.poll(() => feeds.keys).toBe(0);
  });

  it('stores every text and stamp exactly and reads them back as the API shows them', async () => {
    const appId = randomUUID();
    const texts = ['', ' ', 'NULL', 'null', '"', '\\', '\\"', 'a,b', '{x}', '{"a":1}', 'tab\there', 'cr\rhere', 'line\nbreak', '\\N', '\\.', 'a\\tb', 'é€😀', 'ends with \\', `quote " and backslash \\ and comma , in one`, 'x'.repeat(8192)];
    const stamps = ['2026-12-03T16:16:21.140342833Z', '2026-12-03T16:16:21Z', '2026-12-03T16:16:21.9999999Z', '2026-02-28T23:59:59.5+01:00'];
    const lines: LogLine[] = texts.map((text, i) => ({ seq: i + 1, ts: stamps[i % stamps.length], stream: i % 2 ? 'stderr' : 'stdout', text, truncated: i === 3 }));
    expect(await repo.insert({ appId, deploymentId: randomUUID(), containerId: `odd-${appId}` }, lines, new Date())).toBe(texts.length);
    const read = await repo.readAfter(appId, '0', 100);
    expect(read.map((l) => l.text)).toEqual(texts);
    expect(read.map((l) => l.stream)).toEqual(lines.map((l) => l.stream));
    expect(read.map((l) => l.truncated)).toEqual(lines.map((l) => l.truncated));
    // What Date#toISOString gives for the stored instant (PostgreSQL keeps microseconds, rounding
    // 21.9999999 up to 22; the API shows milliseconds, cut).
    const stored = await pool.query<{ ts: Date }>('SELECT ts FROM runtime_logs WHERE app_id = $1 ORDER BY id', [appId]);
    expect(read.map((l) => l.ts)).toEqual(stored.rows.map((r) => r.ts.toISOString()));
    expect(read[2].ts).toBe('2026-12-03T16:16:22.000Z');
    expect((await repo.tail(appId, 2)).map((l) => l.text)).toEqual(texts.slice(-2));
  });

  it('reads a page by walking the (app_id, id) index in order, before any statistics exist', async () => {
    // Recorded, then explained: the plan of the very statement readAfter and tail send.
    const sent: Array<{ text: string; values: unknown[] }> = [];
    const recording = new RuntimeLogsRepository({ query: (text: string, values: unknown[]) => (sent.push({ text, values }), pool.query(text, values)) } as unknown as Pool);
    const appId = randomUUID();
    const target = { appId, deploymentId: randomUUID(), containerId: `plan-${appId}` };
    for (let b = 0; b < 6; b++) await repo.insert(target, batch(0, b * 5_000 + 1, 5_000), new Date());
    const analysed = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM pg_stat_user_tables WHERE relname = 'runtime_logs' AND last_analyze IS NULL AND last_autoanalyze IS NULL`);
    expect(analysed.rows[0].n).toBe('1');
    expect(await recording.readAfter(appId, '100', 1_000)).toHaveLength(1_000);
    expect(await recording.tail(appId, 1_000)).toHaveLength(1_000);
    for (const { text, values } of sent) {
      const plan = JSON.stringify((await pool.query(`EXPLAIN (FORMAT JSON) ${text}`, values)).rows[0]);
      expect(plan).toContain('"Index Name":"runtime_logs_app_id"');
      expect(plan).not.toContain('"Node Type":"Sort"');
      expect(plan).not.toContain('Bitmap');
    }
  });

  it('drops a resent line and counts only the rows it inserted', async () => {
    const target = { appId: randomUUID(), deploymentId: randomUUID(), containerId: 'dup' };
    expect(await repo.insert(target, batch(0, 1, 3), new Date())).toBe(3);
    // The COPY meets line 2 already stored; the resend path stores line 4 alone.
    expect(await repo.insert(target, batch(0, 2, 3), new Date())).toBe(1);
    expect(await repo.insert(target, batch(0, 1, 4), new Date())).toBe(0);
    expect((await repo.readAfter(target.appId, '0', 10)).map((l) => l.text)).toEqual(['c0:1', 'c0:2', 'c0:3', 'c0:4']);
    // The same line number of another container is another line.
    expect(await repo.insert({ ...target, containerId: 'dup-2' }, batch(1, 1, 2), new Date())).toBe(2);
  });

  it('a batch PostgreSQL refuses stores nothing of itself and leaves the connections usable', async () => {
    const target = { appId: randomUUID(), deploymentId: randomUUID(), containerId: 'refused' };
    const lines = batch(0, 1, 4);
    lines[2] = { ...lines[2], ts: '2026-13-45T00:00:00Z' };
    for (let i = 0; i < 25; i++) await expect(repo.insert(target, lines, new Date())).rejects.toThrow(/out of range|invalid/);
    expect(await repo.readAfter(target.appId, '0', 10)).toEqual([]);
    expect(await repo.insert(target, batch(0, 1, 4), new Date())).toBe(4);
    expect(pool.totalCount).toBeLessThanOrEqual(20);
  });

  it('retention deletes runtime lines received before the window in small batches and keeps the rest', async () => {
    const clock = new FakeClock('2026-03-10T00:00:00.000Z');
    const target = { appId: randomUUID(), deploymentId: randomUUID(), containerId: 'old' };
    await repo.insert(target, batch(0, 1, 23), new Date('2026-03-01T00:00:00.000Z'));
    await repo.insert({ ...target, containerId: 'new' }, batch(1, 1, 4), new Date('2026-03-09T00:00:00.000Z'));
    const calls: number[] = [];
    const result = await runRetention(
      clock.now(),
      {
        pruneRuntimeLogs: async (before, n) => {
          const deleted = await repo.pruneReceivedBefore(before, n);
          calls.push(deleted);
          return deleted;
        },
        pruneBuildLogs: async () => 0,
        pruneHeartbeats: async () => 0,
      },
      7,
      10,
    );
    expect(result.runtimeLogs).toBeGreaterThanOrEqual(23);
    expect(calls.slice(0, 2)).toEqual([10, 10]);
    expect((await repo.readAfter(target.appId, '0', 100)).map((l) => l.text)).toEqual(batch(1, 1, 4).map((l) => l.text));
  });
});
