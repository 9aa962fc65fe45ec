/**
 * Re-checks verified domains every interval, on the one replica holding the re-check lock. Plain
 * TypeScript with its lock, clock and work passed in, so it is tested with a FakeClock.
 */
import type { Clock, Logger, TimerHandle } from '@berth/core';
import type { LeaderLock } from '../scheduler/leader-lock';

/** The advisory-lock key pair of the domain re-check: 'bert' and 100 (the scheduler has 1). */
export const DOMAIN_RECHECK_LOCK_KEY: readonly [number, number] = [0x62657274, 100];

export interface DomainRecheckDeps {
  lock: LeaderLock;
  clock: Clock;
  intervalMs: number;
  recheck(): Promise<{ checked: number; unrouted: number }>;
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
}

export class DomainRecheckLoop {
  private timer?: TimerHandle;
  private running?: Promise<void>;
  private stopped = true;

  constructor(private readonly deps: DomainRecheckDeps) {}

  start(): void {
    this.stopped = false;
    this.timer = this.deps.clock.setInterval(() => this.trigger(), this.deps.intervalMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.deps.clock.clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
    await this.deps.lock.release().catch((err: unknown) => this.deps.logger.warn({ err }, 'could not release the domain re-check lock'));
  }

  /** Resolves when no pass is running (for tests). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /** One pass, if this replica holds (or can take) the lock. A pass still running is not doubled. */
  trigger(): void {
    if (this.stopped || this.running) return;
    this.running = this.pass().finally(() => (this.running = undefined));
  }

  private async pass(): Promise<void> {
    try {
      if (!this.deps.lock.isHeld() && !(await this.deps.lock.tryAcquire())) return;
      const { checked, unrouted } = await this.deps.recheck();
      if (unrouted > 0) this.deps.logger.warn({ checked, unrouted }, 'domain re-check unrouted domains whose TXT record no longer proves them');
    } catch (err) {
      this.deps.logger.error({ err }, 'domain re-check failed; trying again at the next interval');
    }
  }
}
