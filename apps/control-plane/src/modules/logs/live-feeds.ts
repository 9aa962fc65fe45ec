/**
 * History, then live, with no line missing and none twice: each subscriber has a cursor (the last id
 * it was sent). It first reads pages from its cursor until the table has no more; only then does it
 * join the live subscribers, and joining wakes the feed, which reads everything after the lowest live
 * cursor and sends each subscriber only what is above its own. A wake (a NOTIFY that rows of this key
 * were committed) re-reads from the table, so what crosses replicas is a wake-up, never the lines.
 * Correct because a key's ids become visible in increasing order (see RuntimeLogsRepository.insert).
 */
import { compareIds } from './runtime-logs.repository';

export interface FeedSource<R> {
  readAfter(key: string, after: string, limit: number): Promise<R[]>;
  idOf(row: R): string;
  /** Orders two cursors; default: non-negative decimal ids. */
  compare?: (a: string, b: string) => number;
}

interface Subscriber<R> {
  cursor: string;
  live: boolean;
  closed: boolean;
  send(rows: R[]): void;
}

interface Feed<R> {
  subscribers: Set<Subscriber<R>>;
  pumping?: Promise<void>;
  again: boolean;
}

export interface FeedSubscription {
  /** Resolves once history was sent and the subscriber is live. */
  ready: Promise<void>;
  cancel(): void;
}

export class LiveFeeds<R> {
  private readonly feeds = new Map<string, Feed<R>>();
  private readonly compare: (a: string, b: string) => number;

  constructor(
    private readonly source: FeedSource<R>,
    private readonly onError: (err: unknown, key: string) => void,
    private readonly pageSize = 1_000,
  ) {
    this.compare = source.compare ?? compareIds;
  }

  /** Sends every row of `key` after `after` (history first), then each new one as it is committed. */
  subscribe(key: string, after: string, send: (rows: R[]) => void): FeedSubscription {
    let feed = this.feeds.get(key);
    if (!feed) this.feeds.set(key, (feed = { subscribers: new Set(), again: false }));
    const sub: Subscriber<R> = { cursor: after, live: false, closed: false, send };
    feed.subscribers.add(sub);
    const cancel = () => {
      sub.closed = true;
      const f = this.feeds.get(key);
      if (!f) return;
      f.subscribers.delete(sub);
      if (f.subscribers.size === 0 && !f.pumping) this.feeds.delete(key);
    };
    const ready = (async () => {
      for (;;) {
        const rows = await this.source.readAfter(key, sub.cursor, this.pageSize);
        if (sub.closed) return;
        if (rows.length > 0) {
          sub.cursor = this.source.idOf(rows[rows.length - 1]);
          sub.send(rows);
        }
        if (rows.length < this.pageSize) break;
      }
      sub.live = true;
      this.wake(key);
    })();
    return { ready, cancel };
  }

  /** Rows of `key` may have been committed: read and send them to its live subscribers. */
  wake(key: string): void {
    const feed = this.feeds.get(key);
    if (!feed) return;
    if (feed.pumping) {
      feed.again = true;
      return;
    }
    feed.pumping = this.pump(key, feed)
      .catch((err: unknown) => this.onError(err, key))
      .finally(() => {
        feed.pumping = undefined;
        if (feed.subscribers.size === 0 && this.feeds.get(key) === feed) this.feeds.delete(key);
      });
  }

  /** After a lost LISTEN connection: re-read every feed. */
  wakeAll(): void {
    for (const key of [...this.feeds.keys()]) this.wake(key);
  }

  get keys(): number {
    return this.feeds.size;
  }

  private async pump(key: string, feed: Feed<R>): Promise<void> {
    do {
      feed.again = false;
      for (;;) {
        const live = [...feed.subscribers].filter((s) => s.live && !s.closed);
        if (live.length === 0) break;
        const from = live.reduce((min, s) => (this.compare(s.cursor, min) < 0 ? s.cursor : min), live[0].cursor);
        const rows = await this.source.readAfter(key, from, this.pageSize);
        for (const s of live) {
          if (s.closed) continue;
          const fresh = rows.filter((r) => this.compare(this.source.idOf(r), s.cursor) > 0);
          if (fresh.length === 0) continue;
          s.cursor = this.source.idOf(fresh[fresh.length - 1]);
          s.send(fresh);
        }
        if (rows.length < this.pageSize) break;
      }
    } while (feed.again);
  }
}
