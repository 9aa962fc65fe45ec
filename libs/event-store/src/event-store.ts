/**
 * The append-only event log on PostgreSQL: optimistic-concurrency appends (one stream or several
 * atomically), stream reads, and the global read in (transaction_id, global_position) order that never
 * skips an event committed late. Subscribers wake on the NOTIFY each append sends on commit.
 */
import { systemClock } from '@berth/core';
import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { appendOne, appendStreams, checkAppends, isDeadlock, StreamRaceError } from './append-streams';
import { decodeCursor, encodeCursor } from './cursor';
import { ConcurrencyError } from './errors';
import { headCursorOn, readAllOn, readStreamOn, streamVersionOn, type ReadAllPage } from './event-rows';
import { EventWaker } from './event-waker';
import { noopLogger, type Logger } from './logger';
import { inTransaction } from './transaction';
import { subscribe as startSubscription, type EventHandler, type EventSource, type SubscribeOptions } from './subscription';
import type { AppendResult, Cursor, EventMetadata, ExpectedVersion, NewEvent, StoredEvent, StreamAppend, Subscription } from './types';

export interface EventStoreOptions {
  clock?: () => Date;
  newId?: () => string;
  /** The NOTIFY/LISTEN channel; default 'berth_events'. */
  notifyChannel?: string;
  /** The waker's polling fallback, for wakes lost or never sent; default 1000 ms. */
  pollIntervalMs?: number;
  logger?: Logger;
}

export const DEFAULT_NOTIFY_CHANNEL = 'berth_events';
/** Races on the same stream are retried this often; the retry's version check then reports the conflict. */
const MAX_APPEND_ATTEMPTS = 5;

export class EventStore implements EventSource {
  /** Shared by every subscription and runner on this store; started while anyone listens. */
  readonly waker: EventWaker;
  readonly channel: string;
  private readonly clock: () => Date;
  private readonly newId: () => string;
  private readonly logger: Logger;
  private wakeRefs = 0;
  /** Reads of the log asked for in this turn of the event loop, by cursor; each starts on the next turn. */
  private readonly queuedReads = new Map<string, { limit: number; page: Promise<ReadAllPage> }>();

  constructor(
    private readonly pool: Pool,
    options: EventStoreOptions = {},
  ) {
    this.channel = options.notifyChannel ?? DEFAULT_NOTIFY_CHANNEL;
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(this.channel)) throw new RangeError(`notifyChannel "${this.channel}" must be a plain SQL identifier`);
    this.clock = options.clock ?? (() => systemClock.now());
    this.newId = options.newId ?? randomUUID;
    this.logger = options.logger ?? noopLogger;
    this.waker = new EventWaker({ connection: pool.options, channel: this.channel, pollIntervalMs: options.pollIntervalMs, logger: this.logger });
  }

  /** Appends to one stream if it is at `expectedVersion`; otherwise throws ConcurrencyError and writes nothing. */
  async append(
    streamId: string,
    streamType: string,
    expectedVersion: ExpectedVersion,
    events: NewEvent[],
    metadata?: EventMetadata,
  ): Promise<AppendResult> {
    if (events.length === 0) throw new RangeError('an append needs at least one event');
    const [result] = await this.appendMany([{ streamId, streamType, expectedVersion, events }], metadata);
    return result;
  }

  /**
   * Appends to several streams in one transaction: all of them or none. An entry without events only
   * checks its stream's version. Returns one result per entry, in order, sharing one transactionId.
   */
  async appendMany(appends: StreamAppend[], metadata?: EventMetadata): Promise<AppendResult[]> {
    checkAppends(appends);
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.appendOnce(appends, metadata);
      } catch (err) {
        const race = err instanceof StreamRaceError || isDeadlock(err);
        if (!race) throw err;
        if (attempt >= MAX_APPEND_ATTEMPTS) {
          if (!(err instanceof StreamRaceError)) throw err;
          throw new ConcurrencyError(err.streamId, err.expected, await this.streamVersion(err.streamId));
        }
      }
    }
  }

  async readStream(streamId: string, afterVersion = 0): Promise<StoredEvent[]> {
    return readStreamOn(this.pool, streamId, afterVersion);
  }

  /** The stream's last version; 0 when it has no events. */
  async streamVersion(streamId: string): Promise<number> {
    return streamVersionOn(this.pool, streamId);
  }

  /**
   * Up to `limit` events after the cursor, in (transactionId, position) order, never past one still in
   * flight. Reads from the same cursor asked for before the next turn of the event loop are one read:
   * every subscriber wakes on the same NOTIFY, most of them at the same cursor, and each read is two
   * queries. The read starts after the last of them asked, so it sees every commit any of them woke for.
   */
  async readAll(after: Cursor, limit: number): Promise<ReadAllPage> {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`readAll limit must be a positive integer, got ${limit}`);
    const key = `${after.transactionId}/${after.position}`;
    let read = this.queuedReads.get(key);
    if (read) {
      read.limit = Math.max(read.limit, limit);
    } else {
      const queued = { limit } as { limit: number; page: Promise<ReadAllPage> };
      queued.page = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
        this.queuedReads.delete(key);
        return readAllOn(this.pool, after, queued.limit);
      });
      this.queuedReads.set(key, queued);
      read = queued;
    }
    const page = await read.page;
    if (page.events.length <= limit) return { ...page, events: [...page.events] };
    // A longer page than this reader asked for: its first `limit` events, a full page (read on from there).
    const events = page.events.slice(0, limit);
    const last = events[limit - 1];
    return { events, next: { transactionId: last.transactionId, position: last.position }, blocked: false };
  }

  /** The cursor of the newest readable event (START when there is none): subscribe from it to get only new events. */
  async headCursor(): Promise<Cursor> {
    return headCursorOn(this.pool);
  }

  encodeCursor(cursor: Cursor): string {
    return encodeCursor(cursor);
  }

  /** @throws InvalidCursorError */
  decodeCursor(encoded: string): Cursor {
    return decodeCursor(encoded);
  }

  subscribe(from: Cursor, handler: EventHandler, opts: SubscribeOptions = {}): Subscription {
    return startSubscription(this, from, handler, { logger: this.logger, ...opts });
  }

  /** Wakes `listener` on appends (NOTIFY, or in-process) and on the polling fallback; keeps the waker running meanwhile. */
  onWake(listener: () => void): () => Promise<void> {
    const off = this.waker.onWake(listener);
    if (this.wakeRefs++ === 0) void this.waker.start();
    let removed = false;
    return async () => {
      if (removed) return;
      removed = true;
      off();
      if (--this.wakeRefs === 0) await this.waker.stop();
    };
  }

  /** Stops the waker; the pool stays the caller's to end. */
  async close(): Promise<void> {
    await this.waker.stop();
  }

  private async appendOnce(appends: StreamAppend[], metadata?: EventMetadata): Promise<AppendResult[]> {
    const ctx = { now: this.clock(), newId: this.newId, channel: this.channel, metadata };
    if (appends.length === 1) {
      const result = await appendOne(this.pool, appends[0], ctx);
      this.waker.wake();
      return [result];
    }
    const results = await inTransaction(this.pool, (client) => appendStreams(client, appends, ctx));
    this.waker.wake();
    return results;
  }
}
