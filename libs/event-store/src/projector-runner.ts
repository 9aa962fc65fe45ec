/**
 * Feeds projectors from the log. Each batch is one transaction: lock the projector's checkpoint row
 * (FOR UPDATE, so two replicas never apply the same batch), read the next events after it, apply them,
 * move the checkpoint, commit. A crash mid-batch rolls all of it back: nothing is applied twice or lost.
 * A projector that throws is rolled back and retried with backoff; it never skips the event.
 */
import { escapeIdentifier, type Pool, type PoolClient } from 'pg';
import { backoffDelay, delay, type BackoffOptions } from './backoff';
import { compareCursors, cursorOfAppend } from './cursor';
import { ProjectionWaitTimeoutError } from './errors';
import { readAllOn } from './event-rows';
import { systemClock, type Clock } from '@berth/core';
import { noopLogger, type Logger } from './logger';
import { START, type Cursor, type Projector } from './types';
import { inTransaction } from './transaction';
import { BlockedRetry, WakeSignal } from './wake-signal';

export interface ProjectorRunnerOptions {
  /** Longest wait between batches without a wake; by default the store's waker (NOTIFY + 1 s poll) decides. */
  pollIntervalMs?: number;
  /** Events read per batch (one transaction); default 500. */
  batchSize?: number;
  /** Backoff for a failing projector; default 100 ms doubling to 10 s. */
  retry?: BackoffOptions;
  logger?: Logger;
  /** Measures backoff and how long events were held back; default the system clock. */
  clock?: Clock;
}

/** What the runner needs from the store: wakes when events may have been appended. */
export interface WakeSource {
  onWake(listener: () => void): () => Promise<void> | void;
}

const DEFAULT_RETRY: BackoffOptions = { minMs: 100, maxMs: 10_000, jitter: 0.2 };
/** catchUp warns when events have been held back behind a transaction in flight for this long. */
const HELD_BACK_WARNING_MS = 5_000;
/** A projector that only skipped events writes its checkpoint at most this often (so a restart need not read them again). */
const SKIPPED_CHECKPOINT_WRITE_MS = 30_000;

interface CheckpointRow {
  transaction_id: string;
  position: string;
}

const LOCK_CHECKPOINT_SQL = `SELECT transaction_id::text AS transaction_id, global_position::text AS position
  FROM projection_checkpoints WHERE name = $1 FOR UPDATE`;

export class ProjectorRunner {
  private readonly batchSize: number;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly checkpoints = new Map<string, Cursor>();
  /** Each projector's checkpoint as this process last read or wrote it in the table, and when. */
  private readonly stored = new Map<string, { cursor: Cursor; at: number }>();
  private readonly progressListeners = new Set<() => void>();
  private readonly failures = new Map<string, { attempts: number; retryAt: number }>();
  private readonly wake = new WakeSignal();
  private running?: { abort: AbortController; done: Promise<void>; stopWaking: () => Promise<void> | void };

  constructor(
    private readonly pool: Pool,
    private readonly store: WakeSource,
    private readonly projectors: Projector[],
    private readonly opts: ProjectorRunnerOptions = {},
  ) {
    const names = projectors.map((p) => p.name);
    const twice = names.find((n, i) => names.indexOf(n) !== i);
    if (twice) throw new RangeError(`two projectors are named ${twice}; checkpoints are kept by name`);
    this.batchSize = opts.batchSize ?? 500;
    this.logger = opts.logger ?? noopLogger;
    this.clock = opts.clock ?? systemClock;
  }

  /** Keeps every projector caught up in the background until stop(). */
  start(): void {
    if (this.running) return;
    const abort = new AbortController();
    const stopWaking = this.store.onWake(() => this.wake.notify());
    this.running = { abort, stopWaking, done: this.runLoop(abort.signal) };
  }

  async stop(): Promise<void> {
    const running = this.running;
    if (!running) return;
    this.running = undefined;
    running.abort.abort();
    await running.done;
    await running.stopWaking();
  }

  /**
   * Processes batches until every projector has applied every event committed so far (waiting out
   * transactions still in flight that hold some back). Rejects if a projector throws.
   */
  async catchUp(): Promise<void> {
    for (const projector of this.projectors) await this.catchUpOne(projector);
  }

  /** Resolves when every projector's checkpoint has reached the append (or cursor); rejects after timeoutMs. */
  async waitFor(target: { transactionId: string; positions: readonly string[] } | Cursor, timeoutMs = 5000): Promise<void> {
    if ('positions' in target && target.positions.length === 0) return;
    const cursor = 'positions' in target ? cursorOfAppend(target) : target;
    const lagging = () => this.projectors.filter((p) => !this.hasReached(p.name, cursor)).map((p) => p.name);
    if (lagging().some((name) => !this.checkpoints.has(name))) await this.loadCheckpoints();
    if (lagging().length === 0) return;
    await new Promise<void>((resolve, reject) => {
      const onProgress = () => {
        if (lagging().length > 0) return;
        cleanup();
        resolve();
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new ProjectionWaitTimeoutError(lagging(), timeoutMs));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.progressListeners.delete(onProgress);
      };
      this.progressListeners.add(onProgress);
      this.wake.notify();
    });
  }

  /** For each projector: empty its tables and reset its checkpoint in one transaction, then replay everything. */
  async rebuild(): Promise<void> {
    for (const projector of this.projectors) {
      await inTransaction(this.pool, async (client) => {
        await this.lockCheckpoint(client, projector.name);
        if (projector.tables.length > 0) await client.query(`TRUNCATE ${projector.tables.map(quoteTable).join(', ')}`);
        await client.query(`UPDATE projection_checkpoints SET transaction_id = '0', global_position = 0, updated_at = now() WHERE name = $1`, [
          projector.name,
        ]);
      });
      this.saved(projector.name, START);
      this.advanced(projector.name, START);
      this.logger.info({ projector: projector.name }, 'projector reset; replaying every event');
      await this.catchUpOne(projector);
    }
  }

  /** Until a short batch that nothing committed waits behind (a transaction in flight can hold events back). */
  private async catchUpOne(projector: Projector): Promise<void> {
    const blockedRetry = new BlockedRetry();
    let blockedSince: number | undefined;
    for (;;) {
      const batch = await this.processBatch(projector);
      if (batch.count === this.batchSize) continue;
      if (!batch.blocked) return;
      blockedSince = batch.count > 0 ? undefined : (blockedSince ?? this.clock.now().getTime());
      if (blockedSince !== undefined && this.clock.now().getTime() - blockedSince >= HELD_BACK_WARNING_MS) {
        this.logger.warn(
          { projector: projector.name, heldBackMs: this.clock.now().getTime() - blockedSince },
          'events are held back by a long transaction in flight on this PostgreSQL server (any database); see pg_stat_activity rows with a backend_xid, oldest xact_start first',
        );
        blockedSince = this.clock.now().getTime();
      }
      await delay(blockedRetry.next(true, batch.count > 0));
    }
  }

  private async runLoop(signal: AbortSignal): Promise<void> {
    const blockedRetry = new BlockedRetry();
    while (!signal.aborted) {
      const skip = await this.skipUnhandled().catch((err: unknown) => {
        this.logger.error({ err }, 'reading ahead for the projectors failed; each reads on its own');
        return { skipped: new Set<string>(), more: false };
      });
      // Projectors own separate tables and checkpoints: their batches run side by side, so a read
      // model is current after the slowest projector's batch, not after the sum of all of them.
      const steps = await Promise.all(this.projectors.filter((p) => !skip.skipped.has(p.name)).map((projector) => this.step(projector, signal)));
      const more = skip.more || steps.some((s) => s.more);
      const blocked = steps.some((s) => s.blocked);
      const progressed = steps.some((s) => s.progressed);
      const blockedMs = blockedRetry.next(blocked, progressed);
      if (!more) await this.wake.wait(Math.min(blockedMs, this.nextWaitMs()), signal);
    }
  }

  /** One batch of one projector; a failure is logged and retried later with backoff. */
  private async step(projector: Projector, signal: AbortSignal): Promise<{ more: boolean; blocked: boolean; progressed: boolean }> {
    const idle = { more: false, blocked: false, progressed: false };
    if (signal.aborted) return idle;
    const failure = this.failures.get(projector.name);
    if (failure && failure.retryAt > this.clock.now().getTime()) return idle;
    try {
      const batch = await this.processBatch(projector);
      if (failure) this.logger.info({ projector: projector.name }, 'projector recovered');
      this.failures.delete(projector.name);
      return { more: batch.count === this.batchSize, blocked: batch.blocked, progressed: batch.count > 0 };
    } catch (err) {
      const attempts = (failure?.attempts ?? 0) + 1;
      const retryInMs = backoffDelay(attempts - 1, this.opts.retry ?? DEFAULT_RETRY);
      this.failures.set(projector.name, { attempts, retryAt: this.clock.now().getTime() + retryInMs });
      this.logger.error({ err, projector: projector.name, attempts, retryInMs }, 'projector failed; its batch was rolled back and will be retried');
      return idle;
    }
  }

  /**
   * One read for every projector instead of one transaction each: a projector whose `handles` occur
   * in none of the events after its checkpoint moves past them in memory, with no transaction. Most
   * appends concern one or two read models; without this every append cost each projector a
   * transaction (lock, read, write, commit), and the pool served them before any request. Its stored
   * checkpoint catches up on its next real batch, or after SKIPPED_CHECKPOINT_WRITE_MS.
   */
  private async skipUnhandled(): Promise<{ skipped: Set<string>; more: boolean }> {
    const skipped = new Set<string>();
    const now = this.clock.now().getTime();
    const candidates = this.projectors.filter((p) => p.handles && this.checkpoints.has(p.name) && this.stored.has(p.name) && !this.failures.has(p.name));
    if (candidates.length === 0) return { skipped, more: false };
    const readFrom = new Map(candidates.map((p) => [p.name, this.checkpoints.get(p.name)!]));
    const from = [...readFrom.values()].reduce((low, c) => (compareCursors(c, low) < 0 ? c : low));
    const { events, next } = await readAllOn(this.pool, from, this.batchSize);
    for (const projector of candidates) {
      const checkpoint = this.checkpoints.get(projector.name)!;
      // Moved while the read was out (a rebuild's reset, its own batch): the read tells nothing about
      // the events between where it is now and where the read began, so it does not skip on it.
      if (checkpoint !== readFrom.get(projector.name)) continue;
      const handles = new Set(projector.handles);
      if (events.some((e) => handles.has(e.type) && compareCursors(e, checkpoint) > 0)) continue;
      if (compareCursors(next, checkpoint) > 0) this.advanced(projector.name, next);
      const stored = this.stored.get(projector.name)!;
      const due = now - stored.at >= SKIPPED_CHECKPOINT_WRITE_MS && compareCursors(this.checkpoints.get(projector.name)!, stored.cursor) > 0;
      if (!due) skipped.add(projector.name);
    }
    return { skipped, more: events.length === this.batchSize };
  }

  /**
   * Where a batch starts: the locked checkpoint, or further on where this process skipped events the
   * projector does not handle — only while the stored checkpoint is still the one it last saw (another
   * replica's batch or a rebuild moved it otherwise, and then the table's word holds).
   */
  private resumeFrom(name: string, locked: Cursor): Cursor {
    const known = this.stored.get(name);
    const inMemory = this.checkpoints.get(name);
    if (!known || !inMemory || compareCursors(known.cursor, locked) !== 0) return locked;
    return compareCursors(inMemory, locked) > 0 ? inMemory : locked;
  }

  private nextWaitMs(): number {
    let ms = this.opts.pollIntervalMs ?? Infinity;
    for (const f of this.failures.values()) ms = Math.min(ms, f.retryAt - this.clock.now().getTime());
    return ms;
  }

  /**
   * One transaction: lock checkpoint, read, apply, move checkpoint. Returns how many events were read,
   * and whether committed events wait behind a transaction in flight (read again soon).
   */
  private async processBatch(projector: Projector): Promise<{ count: number; blocked: boolean }> {
    const { count, checkpoint, blocked } = await inTransaction(this.pool, async (client) => {
      const locked = await this.lockCheckpoint(client, projector.name);
      const from = this.resumeFrom(projector.name, locked);
      const { events, next, blocked } = await readAllOn(client, from, this.batchSize);
      const handles = projector.handles ? new Set(projector.handles) : undefined;
      for (const event of events) {
        if (!handles || handles.has(event.type)) await projector.apply(event, client);
      }
      if (compareCursors(next, locked) !== 0) {
        await client.query(
          `UPDATE projection_checkpoints SET transaction_id = $2::xid8, global_position = $3::bigint, updated_at = now() WHERE name = $1`,
          [projector.name, next.transactionId, next.position],
        );
      }
      return { count: events.length, checkpoint: next, blocked };
    });
    this.saved(projector.name, checkpoint);
    this.advanced(projector.name, checkpoint);
    if (count > 0) this.logger.debug({ projector: projector.name, events: count, checkpoint }, 'projector applied a batch');
    return { count, blocked };
  }

  private async lockCheckpoint(client: PoolClient, name: string): Promise<Cursor> {
    let { rows } = await client.query<CheckpointRow>(LOCK_CHECKPOINT_SQL, [name]);
    if (rows.length === 0) {
      await client.query(`INSERT INTO projection_checkpoints (name) VALUES ($1) ON CONFLICT (name) DO NOTHING`, [name]);
      ({ rows } = await client.query<CheckpointRow>(LOCK_CHECKPOINT_SQL, [name]));
    }
    return { transactionId: rows[0].transaction_id, position: rows[0].position };
  }

  private async loadCheckpoints(): Promise<void> {
    const { rows } = await this.pool.query<CheckpointRow & { name: string }>(
      `SELECT name, transaction_id::text AS transaction_id, global_position::text AS position FROM projection_checkpoints WHERE name = ANY($1)`,
      [this.projectors.map((p) => p.name)],
    );
    for (const row of rows) {
      const cursor = { transactionId: row.transaction_id, position: row.position };
      this.saved(row.name, cursor);
      this.advanced(row.name, cursor);
    }
  }

  private saved(name: string, cursor: Cursor): void {
    this.stored.set(name, { cursor, at: this.clock.now().getTime() });
  }

  private hasReached(name: string, cursor: Cursor): boolean {
    const checkpoint = this.checkpoints.get(name);
    return checkpoint !== undefined && compareCursors(checkpoint, cursor) >= 0;
  }

  private advanced(name: string, checkpoint: Cursor): void {
    this.checkpoints.set(name, checkpoint);
    for (const listener of [...this.progressListeners]) listener();
  }
}

function quoteTable(table: string): string {
  return table.split('.').map(escapeIdentifier).join('.');
}
