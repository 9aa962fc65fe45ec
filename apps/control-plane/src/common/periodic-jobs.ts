import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { BACKGROUND_OPTIONS, type BackgroundOptions } from './background.options';
import { CLOCK, type Clock } from './clock';
import { LeaderLocks } from './leader-locks.service';
import type { TimerHandle } from '@berth/core';

export interface PeriodicJobOptions {
  /** Run only on the replica holding the job's advisory lock (named after the job). */
  leaderOnly?: boolean;
  /** Also run once right away instead of waiting a whole interval. */
  runAtStart?: boolean;
}

interface Job {
  name: string;
  work: (now: Date) => Promise<void>;
  opts: PeriodicJobOptions;
  handle?: TimerHandle;
  running?: Promise<void>;
}

/**
 * Every periodic job of the control plane: `every(name, intervalMs, work)` runs `work(now)` on the
 * injected clock's interval, registered with @nestjs/schedule's SchedulerRegistry (so it is listed and
 * stopped with the application), never twice at once, and — with leaderOnly — on one replica at a
 * time. The work itself is a plain function of `now`, tested with a fake clock.
 */
@Injectable()
export class PeriodicJobs implements OnApplicationShutdown {
  private readonly logger = new Logger('periodic-jobs');
  private readonly jobs = new Map<string, Job>();
  private stopped = false;

  constructor(
    private readonly registry: SchedulerRegistry,
    private readonly locks: LeaderLocks,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(BACKGROUND_OPTIONS) private readonly options: BackgroundOptions,
  ) {}

  every(name: string, intervalMs: number, work: (now: Date) => Promise<void>, opts: PeriodicJobOptions = {}): void {
    if (this.jobs.has(name)) throw new Error(`a periodic job named ${name} is already registered`);
    const job: Job = { name, work, opts };
    this.jobs.set(name, job);
    if (!this.options.runBackgroundWork) return;
    job.handle = this.clock.setInterval(() => this.run(job), intervalMs);
    // The registry lists Node timers; a fake clock's handles are not timers and stay ours alone.
    if (typeof job.handle === 'object') this.registry.addInterval(name, job.handle as NodeJS.Timeout);
    if (opts.runAtStart) this.run(job);
  }

  /** Runs a job now, as its timer would (after a run in progress), resolving when it finished. */
  async runNow(name: string): Promise<void> {
    const job = this.jobs.get(name);
    if (!job) throw new Error(`no periodic job named ${name}`);
    await job.running;
    await this.run(job);
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    for (const job of this.jobs.values()) {
      if (job.handle === undefined) continue;
      this.clock.clearInterval(job.handle);
      if (typeof job.handle === 'object' && this.registry.doesExist('interval', job.name)) this.registry.deleteInterval(job.name);
    }
    await Promise.all([...this.jobs.values()].map((j) => j.running));
  }

  private run(job: Job): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (job.running) return job.running;
    job.running = (async () => {
      try {
        if (job.opts.leaderOnly && !(await this.locks.named(job.name).tryAcquire())) return;
        await job.work(this.clock.now());
      } catch (err) {
        this.logger.error({ err, job: job.name, msg: 'a periodic job failed; it runs again at its next interval' });
      } finally {
        job.running = undefined;
      }
    })();
    return job.running;
  }
}
