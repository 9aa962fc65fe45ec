import { afterEach, describe, expect, it, vi } from 'vitest';
import type { LeaderLock } from '../../common/leader-lock';
import type { PendingDeployment, WorkerSnapshot } from './scheduler';
import { SchedulerLoop, type SchedulerDeps } from './scheduler.loop';
import { workerSnapshot } from './scheduler.testing';

class FakeLock implements LeaderLock {
  free = true;
  held = false;
  releases = 0;
  async tryAcquire() {
    if (!this.held && this.free) this.held = true;
    return this.held;
  }
  isHeld() {
    return this.held;
  }
  async release() {
    this.held = false;
    this.releases++;
  }
}

class Superseded extends Error {}

function harness(opts: { queued?: PendingDeployment[]; workers?: WorkerSnapshot[] } = {}) {
  const lock = new FakeLock();
  const state = { queued: opts.queued ?? [], workers: opts.workers ?? [] };
  const calls: string[] = [];
  let wake: () => void = () => undefined;
  let n = 0;
  const deps: SchedulerDeps = {
    lock,
    listQueued: vi.fn(async () => state.queued),
    listWorkers: vi.fn(async () => state.workers),
    assign: vi.fn(async (id: string, job: { jobId: string; workerId: string; memoryMb: number }) => {
      calls.push(`assign ${id} -> ${job.workerId} (${job.jobId})`);
    }),
    markWaiting: vi.fn(async (id: string, reason: string) => {
      calls.push(`wait ${id}: ${reason}`);
    }),
    newId: () => `job-${++n}`,
    watch: vi.fn(async (w: () => void) => {
      wake = w;
      return async () => {
        wake = () => undefined;
      };
    }),
    isSuperseded: (err) => err instanceof Superseded,
    pollIntervalMs: 1000,
    timers: { setInterval: (fn, ms) => setInterval(fn, ms), clearInterval: (h) => clearInterval(h as NodeJS.Timeout) },
    logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
  };
  return { loop: new SchedulerLoop(deps), deps, lock, state, calls, wake: () => wake() };
}

const worker = workerSnapshot;

afterEach(() => {
  vi.useRealTimers();
});

describe('scheduler loop', () => {
  it('does nothing without the lock, and does not try to take it on a wake', async () => {
    const h = harness({ queued: [{ deploymentId: 'd1', memoryMb: 256 }], workers: [worker('w1', 1024)] });
    expect(await h.loop.tick()).toEqual({ leader: false, assigned: 0, waiting: 0, skipped: 0 });
    expect(h.lock.held).toBe(false);
    expect(h.deps.listQueued).not.toHaveBeenCalled();
  });

  it('takes the lock when asked and applies the plan: assigns what fits, records why the rest waits', async () => {
    const h = harness({
      queued: [
        { deploymentId: 'd1', memoryMb: 512 },
        { deploymentId: 'd2', memoryMb: 2048 },
        { deploymentId: 'd3', memoryMb: 256, zone: 'de' },
      ],
      workers: [worker('w1', 1024)],
    });
    expect(await h.loop.tick({ acquire: true })).toEqual({ leader: true, assigned: 1, waiting: 2, skipped: 0 });
    expect(h.calls).toEqual([
      'assign d1 -> w1 (job-1)',
      'wait d2: no online worker has 2048 MB free (largest free: 512 MB on w1)',
      'wait d3: no online worker in zone de',
    ]);
  });

  it('reads the workers only when something is queued', async () => {
    const h = harness({ workers: [worker('w1', 1024)] });
    expect(await h.loop.tick({ acquire: true })).toEqual({ leader: true, assigned: 0, waiting: 0, skipped: 0 });
    expect(h.deps.listQueued).toHaveBeenCalledTimes(1);
    expect(h.deps.listWorkers).not.toHaveBeenCalled();
    h.state.queued = [{ deploymentId: 'd1', memoryMb: 512 }];
    expect(await h.loop.tick()).toEqual({ leader: true, assigned: 1, waiting: 0, skipped: 0 });
    expect(h.deps.listWorkers).toHaveBeenCalledTimes(1);
  });

  it('forgets the wait reason of a deployment no longer queued, even when nothing else is', async () => {
    const h = harness({ queued: [{ deploymentId: 'd1', memoryMb: 512 }] });
    await h.loop.tick({ acquire: true });
    h.state.queued = [];
    await h.loop.tick();
    h.state.queued = [{ deploymentId: 'd1', memoryMb: 512 }];
    await h.loop.tick();
    expect(h.calls).toEqual(['wait d1: no online worker', 'wait d1: no online worker']);
  });

  it('does not write the same wait reason twice, but writes a changed one', async () => {
    const h = harness({ queued: [{ deploymentId: 'd1', memoryMb: 512 }] });
    await h.loop.tick({ acquire: true });
    await h.loop.tick();
    h.state.workers = [worker('w1', 256)];
    await h.loop.tick();
    expect(h.calls).toEqual(['wait d1: no online worker', 'wait d1: no online worker has 512 MB free (largest free: 256 MB on w1)']);
  });

  it('skips a deployment someone else moved first and still applies the rest', async () => {
    const h = harness({ queued: [{ deploymentId: 'd1', memoryMb: 100 }, { deploymentId: 'd2', memoryMb: 100 }], workers: [worker('w1', 1024)] });
    vi.mocked(h.deps.assign).mockRejectedValueOnce(new Superseded('moved'));
    expect(await h.loop.tick({ acquire: true })).toEqual({ leader: true, assigned: 1, waiting: 0, skipped: 1 });
    expect(h.calls).toEqual(['assign d2 -> w1 (job-2)']);
  });

  it('stops the pass on an unexpected error', async () => {
    const h = harness({ queued: [{ deploymentId: 'd1', memoryMb: 100 }, { deploymentId: 'd2', memoryMb: 100 }], workers: [worker('w1', 1024)] });
    vi.mocked(h.deps.assign).mockRejectedValueOnce(new Error('database is gone'));
    await expect(h.loop.tick({ acquire: true })).rejects.toThrow('database is gone');
    expect(h.deps.assign).toHaveBeenCalledTimes(1);
  });

  it('stops placing as soon as the lock is lost', async () => {
    const h = harness({ queued: [{ deploymentId: 'd1', memoryMb: 100 }, { deploymentId: 'd2', memoryMb: 100 }], workers: [worker('w1', 1024)] });
    vi.mocked(h.deps.assign).mockImplementationOnce(async () => {
      h.lock.held = false;
    });
    await h.loop.tick({ acquire: true });
    expect(h.deps.assign).toHaveBeenCalledTimes(1);
  });

  it('polls on its interval: takes the lock once another replica lets it go', async () => {
    vi.useFakeTimers();
    const h = harness({ queued: [{ deploymentId: 'd1', memoryMb: 100 }], workers: [worker('w1', 1024)] });
    h.lock.free = false;
    await h.loop.start();
    await vi.advanceTimersByTimeAsync(3000);
    expect(h.deps.listQueued).not.toHaveBeenCalled();
    h.lock.free = true;
    await vi.advanceTimersByTimeAsync(1000);
    await h.loop.idle();
    expect(h.calls).toEqual(['assign d1 -> w1 (job-1)']);
    await h.loop.stop();
  });

  it('coalesces wakes that arrive during a pass into one more pass', async () => {
    const h = harness();
    await h.lock.tryAcquire();
    let release: () => void = () => undefined;
    vi.mocked(h.deps.listQueued).mockImplementationOnce(() => new Promise((resolve) => (release = () => resolve([]))));
    vi.useFakeTimers();
    await h.loop.start();
    h.wake();
    h.wake();
    h.wake();
    release();
    await h.loop.idle();
    expect(h.deps.listQueued).toHaveBeenCalledTimes(2);
    await h.loop.stop();
  });

  it('stop ends the polling, stops watching and releases the lock', async () => {
    vi.useFakeTimers();
    const h = harness();
    await h.loop.start();
    await h.loop.idle();
    expect(h.lock.held).toBe(true);
    await h.loop.stop();
    expect(h.lock.releases).toBe(1);
    const calls = vi.mocked(h.deps.listQueued).mock.calls.length;
    h.wake();
    h.loop.wake();
    h.loop.poll();
    await vi.advanceTimersByTimeAsync(5000);
    expect(vi.mocked(h.deps.listQueued).mock.calls.length).toBe(calls);
  });
});
