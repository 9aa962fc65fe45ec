import { FakeClock } from '@berth/core';
import { SchedulerRegistry } from '@nestjs/schedule';
import { describe, expect, it } from 'vitest';
import type { LeaderLock } from './leader-lock';
import type { LeaderLocks } from './leader-locks.service';
import { PeriodicJobs } from './periodic-jobs';

function locks(held: boolean): LeaderLocks & { asked: string[] } {
  const asked: string[] = [];
  const lock: LeaderLock = { tryAcquire: async () => held, isHeld: () => held, release: async () => undefined };
  return { asked, named: (name: string) => (asked.push(name), lock) } as unknown as LeaderLocks & { asked: string[] };
}

describe('PeriodicJobs (fake clock)', () => {
  it('runs a job on its interval with the clock’s time, never twice at once, and stops at shutdown', async () => {
    const clock = new FakeClock('2026-01-01T00:00:00Z');
    const jobs = new PeriodicJobs(new SchedulerRegistry(), locks(true), clock, { runBackgroundWork: true });
    const runs: string[] = [];
    let release!: () => void;
    jobs.every('sweep', 60_000, async (now) => {
      runs.push(now.toISOString());
      if (runs.length === 2) await new Promise<void>((r) => (release = r));
    });
    await clock.tick(59_999);
    expect(runs).toEqual([]);
    await clock.tick(1);
    expect(runs).toEqual(['2026-01-01T00:01:00.000Z']);
    await clock.tick(60_000); // second run hangs
    await clock.tick(60_000); // skipped: the second is still running
    expect(runs).toHaveLength(2);
    release();
    await clock.tick(0); // the second run finishes
    await clock.tick(60_000);
    expect(runs).toEqual(['2026-01-01T00:01:00.000Z', '2026-01-01T00:02:00.000Z', '2026-01-01T00:04:00.000Z']);
    await jobs.onApplicationShutdown();
    await clock.tick(600_000);
    expect(runs).toHaveLength(3);
    expect(clock.pending).toBe(0);
  });

  it('with leaderOnly runs only on the replica holding the job’s lock', async () => {
    const clock = new FakeClock(0);
    const follower = locks(false);
    const jobs = new PeriodicJobs(new SchedulerRegistry(), follower, clock, { runBackgroundWork: true });
    let ran = 0;
    jobs.every('recover-stuck-jobs', 1_000, async () => void ran++, { leaderOnly: true });
    await clock.tick(5_000);
    expect(ran).toBe(0);
    expect(follower.asked).toContain('recover-stuck-jobs');
  });

  it('runs nothing in a maintenance command', async () => {
    const clock = new FakeClock(0);
    const jobs = new PeriodicJobs(new SchedulerRegistry(), locks(true), clock, { runBackgroundWork: false });
    let ran = 0;
    jobs.every('pruner', 1_000, async () => void ran++, { runAtStart: true });
    await clock.tick(10_000);
    expect(ran).toBe(0);
    expect(clock.pending).toBe(0);
  });
});
