/**
 * The scheduler's loop: on every wake (an event that can change placement) and every poll interval,
 * the replica holding the lock reads the queue and, when anything is queued, the workers, runs
 * `schedule`, and applies the plan.
 * Plain TypeScript with its collaborators passed in, so it is tested without NestJS or a database.
 */
import type { Logger } from '@berth/core';
import type { LeaderLock } from '../../common/leader-lock';
import { schedule, type PendingDeployment, type WorkerSnapshot } from './scheduler';

/** @berth/core's Logger, the one every background loop takes. */
export type SchedulerLogger = Pick<Logger, 'info' | 'warn' | 'error'>;

export interface Timers {
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

export interface SchedulerDeps {
  lock: LeaderLock;
  listQueued(): Promise<PendingDeployment[]>;
  listWorkers(): Promise<WorkerSnapshot[]>;
  assign(deploymentId: string, job: { jobId: string; workerId: string; memoryMb: number }): Promise<void>;
  markWaiting(deploymentId: string, reason: string): Promise<void>;
  newId(): string;
  /** Starts calling `wake` on events that may change placement; resolves to the function that stops it. */
  watch(wake: () => void): Promise<() => Promise<void>>;
  /** An error meaning someone else moved the deployment first (a concurrency conflict, a state change): skip it. */
  isSuperseded(err: unknown): boolean;
  pollIntervalMs: number;
  timers: Timers;
  logger: SchedulerLogger;
}

export interface TickResult {
  leader: boolean;
  assigned: number;
  waiting: number;
  skipped: number;
}

export class SchedulerLoop {
  private timer?: unknown;
  private stopWatching?: () => Promise<void>;
  private running?: Promise<void>;
  private again: 'none' | 'tick' | 'poll' = 'none';
  private stopped = true;
  /** The wait reason last written per deployment, so an unchanged reason is not appended every tick. */
  private readonly lastReason = new Map<string, string>();

  constructor(private readonly deps: SchedulerDeps) {}

  async start(): Promise<void> {
    this.stopped = false;
    this.stopWatching = await this.deps.watch(() => this.wake());
    this.timer = this.deps.timers.setInterval(() => this.poll(), this.deps.pollIntervalMs);
    this.poll();
  }

  /** Stops the loop, waits for a tick in progress, and gives the lock up. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) this.deps.timers.clearInterval(this.timer);
    this.timer = undefined;
    await this.stopWatching?.();
    this.stopWatching = undefined;
    await this.running;
    await this.deps.lock.release().catch((err: unknown) => this.deps.logger.warn({ err }, 'could not release the scheduler lock'));
  }

  /** An event may have changed placement: tick (coalesced with a tick in progress). */
  wake(): void {
    this.schedule('tick');
  }

  /** The poll interval: try to take the lock if another replica let it go, then tick. */
  poll(): void {
    this.schedule('poll');
  }

  /** Whether this replica runs the scheduler right now. */
  get leader(): boolean {
    return this.deps.lock.isHeld();
  }

  /** Resolves when no tick is running or queued (for tests). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /**
   * One pass. Only the lock holder places; `acquire` lets a replica that does not hold it try to take it.
   */
  async tick(opts: { acquire?: boolean } = {}): Promise<TickResult> {
    const result: TickResult = { leader: false, assigned: 0, waiting: 0, skipped: 0 };
    if (!this.deps.lock.isHeld()) {
      this.lastReason.clear();
      if (!opts.acquire || !(await this.deps.lock.tryAcquire())) return result;
      this.deps.logger.info({}, 'this replica now runs the scheduler');
    }
    result.leader = true;
    const queued = await this.deps.listQueued();
    const queuedIds = new Set(queued.map((q) => q.deploymentId));
    for (const id of this.lastReason.keys()) if (!queuedIds.has(id)) this.lastReason.delete(id);
    // Nothing to place (the usual state between deploys): the workers are not read at all, so an idle
    // poll of a large fleet costs one small query rather than a read of every worker, every interval.
    if (queued.length === 0) return result;
    const workers = await this.deps.listWorkers();

    for (const decision of schedule(queued, workers)) {
      if (!this.deps.lock.isHeld()) break;
      const id = decision.deploymentId;
      try {
        if (decision.kind === 'assign') {
          await this.deps.assign(id, { jobId: this.deps.newId(), workerId: decision.workerId, memoryMb: decision.memoryMb });
          this.lastReason.delete(id);
          result.assigned++;
        } else if (this.lastReason.get(id) !== decision.reason) {
          await this.deps.markWaiting(id, decision.reason);
          this.lastReason.set(id, decision.reason);
          result.waiting++;
        }
      } catch (err) {
        if (!this.deps.isSuperseded(err)) throw err;
        result.skipped++;
      }
    }
    return result;
  }

  private schedule(kind: 'tick' | 'poll'): void {
    if (this.stopped) return;
    if (this.running) {
      if (this.again !== 'poll') this.again = kind;
      return;
    }
    this.running = this.run(kind);
  }

  /** Ticks until no wake arrived during the last tick; clears `running` in the same step as that check. */
  private async run(kind: 'tick' | 'poll'): Promise<void> {
    let next: 'none' | 'tick' | 'poll' = kind;
    try {
      while (next !== 'none' && !this.stopped) {
        this.again = 'none';
        try {
          await this.tick({ acquire: next === 'poll' });
        } catch (err) {
          this.deps.logger.error({ err }, 'scheduler tick failed; retrying on the next wake or poll');
        }
        next = this.again;
      }
    } finally {
      this.running = undefined;
    }
  }
}
