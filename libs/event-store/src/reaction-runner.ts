/**
 * Durable reactions: handlers with side effects (end a deleted app's deployments, send a
 * notification) that consume the log from a stored checkpoint, like a projector, but outside any
 * transaction of ours. At least once: the checkpoint moves past an event only after its handler
 * finished, so a reaction that was down handles everything appended meanwhile when it comes back, and
 * one that crashes mid-event handles that event again — never skipping it. A handler is therefore
 * idempotent by `event.eventId` (or by what it decides: deciding twice on the same stream appends once).
 *
 * One replica at a time runs each reaction: it holds the reaction's lock (a PostgreSQL advisory lock
 * on a connection of its own) while it works, and another replica takes over when that connection dies.
 */
import type { Pool } from 'pg';
import { systemClock, type Clock } from '@berth/core';
import { backoffDelay, delay, type BackoffOptions } from './backoff';
import { noopLogger, type Logger } from './logger';
import type { Cursor, ReadAllResult, StoredEvent } from './types';
import { BlockedRetry, WakeSignal } from './wake-signal';

export interface Reaction {
  /** Names the checkpoint (`reaction:<name>`) and the lock. */
  name: string;
  /** Event types handed to `handle`; the checkpoint moves past every other event. */
  handles: readonly string[];
  handle(event: StoredEvent): Promise<void>;
}

/** Leadership of one reaction (the control plane hands in named PostgreSQL advisory locks). */
export interface ReactionLock {
  tryAcquire(): Promise<boolean>;
  isHeld(): boolean;
  release(): Promise<void>;
}

export interface ReactionSource {
  readAll(after: Cursor, limit: number): Promise<ReadAllResult & { blocked?: boolean }>;
  onWake(listener: () => void): () => Promise<void> | void;
}

export interface ReactionRunnerOptions {
  lockOf(reactionName: string): ReactionLock;
  /** How often a replica that does not hold a reaction's lock tries to take it, and the poll without wakes; default 1 s. */
  pollIntervalMs?: number;
  batchSize?: number;
  /** Backoff for a failing handler; default 100 ms doubling to 30 s. */
  retry?: BackoffOptions;
  logger?: Logger;
  /** Paces checkpoint writes past unhandled events; default the system clock. */
  clock?: Clock;
}

/** Past events a reaction does not handle, its checkpoint is written at most this often (handled events: each time). */
const UNHANDLED_CHECKPOINT_WRITE_MS = 30_000;

const DEFAULT_RETRY: BackoffOptions = { minMs: 100, maxMs: 30_000, jitter: 0.2 };

export const reactionCheckpointName = (name: string) => `reaction:${name}`;

export class ReactionRunner {
  private readonly wake = new WakeSignal();
  private running?: { abort: AbortController; done: Promise<void>; stopWaking: () => Promise<void> | void };
  private readonly logger: Logger;

  constructor(
    private readonly pool: Pool,
    private readonly source: ReactionSource,
    private readonly reactions: readonly Reaction[],
    private readonly opts: ReactionRunnerOptions,
  ) {
    const names = reactions.map((r) => r.name);
    const twice = names.find((n, i) => names.indexOf(n) !== i);
    if (twice) throw new RangeError(`two reactions are named ${twice}; checkpoints are kept by name`);
    this.logger = opts.logger ?? noopLogger;
  }

  start(): void {
    if (this.running) return;
    const abort = new AbortController();
    const stopWaking = this.source.onWake(() => this.wake.notify());
    const done = Promise.all(this.reactions.map((r) => this.loop(r, abort.signal))).then(() => undefined);
    this.running = { abort, done, stopWaking };
  }

  /** Stops every reaction (a handler in progress finishes first) and gives their locks up. */
  async stop(): Promise<void> {
    const running = this.running;
    if (!running) return;
    this.running = undefined;
    running.abort.abort();
    this.wake.notify();
    await running.done;
    await running.stopWaking();
    await Promise.all(this.reactions.map((r) => this.opts.lockOf(r.name).release().catch(() => undefined)));
  }

  /** Where a reaction stands: the cursor of the last event it finished with. */
  async checkpoint(name: string): Promise<Cursor | undefined> {
    const { rows } = await this.pool.query<Cursor>(
      `SELECT transaction_id::text AS "transactionId", global_position::text AS position FROM projection_checkpoints WHERE name = $1`,
      [reactionCheckpointName(name)],
    );
    return rows[0];
  }

  private async loop(reaction: Reaction, signal: AbortSignal): Promise<void> {
    const lock = this.opts.lockOf(reaction.name);
    const clock = this.opts.clock ?? systemClock;
    const pollMs = this.opts.pollIntervalMs ?? 1_000;
    const handles = new Set(reaction.handles);
    const blockedRetry = new BlockedRetry();
    let failures = 0;
    // While this replica holds the lock throughout, nobody else moves the checkpoint: it is kept here,
    // and written at once after a handled event, lazily after unhandled ones.
    let position: Cursor | undefined;
    let unsaved = false;
    let savedAt = 0;
    const save = async (cursor: Cursor) => {
      await this.saveCheckpoint(reaction.name, cursor);
      unsaved = false;
      savedAt = clock.now().getTime();
    };
    while (!signal.aborted) {
      try {
        const heldBefore = lock.isHeld();
        if (!(await lock.tryAcquire())) {
          position = undefined;
          await delay(pollMs, signal);
          continue;
        }
        if (!heldBefore) position = undefined;
        let cursor = position ?? (await this.checkpoint(reaction.name)) ?? { transactionId: '0', position: '0' };
        const batchSize = this.opts.batchSize ?? 200;
        const { events, next, blocked } = await this.source.readAll(cursor, batchSize);
        for (const event of events) {
          if (signal.aborted || !lock.isHeld()) break;
          if (handles.has(event.type)) {
            await reaction.handle(event);
            cursor = { transactionId: event.transactionId, position: event.position };
            await save(cursor);
          }
        }
        if (!signal.aborted && lock.isHeld() && events.length > 0 && (next.position !== cursor.position || next.transactionId !== cursor.transactionId)) {
          cursor = next;
          unsaved = true;
        }
        if (unsaved && lock.isHeld() && (signal.aborted || clock.now().getTime() - savedAt >= UNHANDLED_CHECKPOINT_WRITE_MS)) await save(cursor);
        position = lock.isHeld() ? cursor : undefined;
        if (failures > 0) this.logger.info({ reaction: reaction.name }, 'reaction recovered');
        failures = 0;
        const retryMs = blockedRetry.next(blocked === true, events.length > 0);
        if (events.length < batchSize) await this.wake.wait(Math.min(pollMs, retryMs), signal);
      } catch (err) {
        position = undefined;
        const retryInMs = backoffDelay(failures++, this.opts.retry ?? DEFAULT_RETRY);
        this.logger.error({ err, reaction: reaction.name, attempts: failures, retryInMs }, 'reaction failed; the same event is handled again after a backoff');
        await delay(retryInMs, signal);
      }
    }
    if (unsaved && position && lock.isHeld()) await save(position).catch(() => undefined);
  }

  private async saveCheckpoint(name: string, cursor: Cursor): Promise<void> {
    await this.pool.query(
      `INSERT INTO projection_checkpoints (name, transaction_id, global_position, updated_at) VALUES ($1, $2::xid8, $3::bigint, now())
       ON CONFLICT (name) DO UPDATE SET transaction_id = EXCLUDED.transaction_id, global_position = EXCLUDED.global_position, updated_at = now()`,
      [reactionCheckpointName(name), cursor.transactionId, cursor.position],
    );
  }
}
