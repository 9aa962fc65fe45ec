import { describe, expect, it } from 'vitest';
import type { HealthCheckDeps, ProbeResult } from './health-check';
import { waitUntilHealthy } from './health-check';
import type { ContainerState } from './runtimes/runtime';

const RUNNING: ContainerState = { exists: true, running: true, status: 'running' };

/** A clock that only moves when the code under test sleeps (or a probe takes time). */
function fakeDeps(answers: (attempt: number, now: number) => ProbeResult, state: (attempt: number) => ContainerState = () => RUNNING, probeTakesMs = 0) {
  let now = 1_000_000;
  let attempt = 0;
  const sleeps: number[] = [];
  const probeTimes: number[] = [];
  const timeouts: number[] = [];
  const deps: HealthCheckDeps = {
    now: () => now,
    sleep: async (ms) => {
      sleeps.push(ms);
      now += ms;
    },
    probe: async (_url, timeoutMs) => {
      attempt++;
      probeTimes.push(now - 1_000_000);
      timeouts.push(timeoutMs);
      now += probeTakesMs;
      return answers(attempt, now);
    },
    containerState: async () => state(attempt),
  };
  return { deps, sleeps, probeTimes, timeouts };
}

const refused: ProbeResult = { ok: false, detail: 'connection refused' };

describe('waitUntilHealthy', () => {
  it('tries fast first (50, 100, 200, 400 ms), then every second', async () => {
    const { deps, sleeps, probeTimes } = fakeDeps((n) => (n >= 7 ? { ok: true, status: 200 } : refused));
    const result = await waitUntilHealthy({ hostPort: 20001, path: '/health', deadlineMs: 60_000 }, deps);
    expect(result).toMatchObject({ healthy: true, attempts: 7, status: 200 });
    expect(sleeps).toEqual([50, 100, 200, 400, 1000, 1000]);
    expect(probeTimes).toEqual([0, 50, 150, 350, 750, 1750, 2750]);
    expect(result.elapsedMs).toBe(2750);
  });

  it('is healthy on the first 2xx or 3xx without waiting', async () => {
    const { deps, sleeps } = fakeDeps(() => ({ ok: true, status: 302 }));
    const result = await waitUntilHealthy({ hostPort: 20001, path: '/', deadlineMs: 5_000 }, deps);
    expect(result).toMatchObject({ healthy: true, attempts: 1, status: 302 });
    expect(sleeps).toEqual([]);
  });

  it('gives up at the deadline, with a last try exactly at it and the last failure in the reason', async () => {
    const { deps, sleeps, probeTimes } = fakeDeps(() => ({ ok: false, detail: 'HTTP 503' }));
    const result = await waitUntilHealthy({ hostPort: 20002, path: 'ready', deadlineMs: 3_000 }, deps);
    expect(result.healthy).toBe(false);
    expect(sleeps).toEqual([50, 100, 200, 400, 1000, 1000, 250]);
    expect(probeTimes.at(-1)).toBe(3_000);
    expect(result).toMatchObject({ attempts: 8, elapsedMs: 3_000 });
    if (!result.healthy) expect(result.reason).toBe('health check GET /ready on port 20002 did not succeed within 3s (8 tries, last: HTTP 503)');
  });

  it('counts the time a slow probe takes against the deadline, and never lets a probe outlive it', async () => {
    const { deps, timeouts, probeTimes } = fakeDeps(() => ({ ok: false, detail: 'no answer within 2000 ms' }), undefined, 2_000);
    const result = await waitUntilHealthy({ hostPort: 20003, path: '/', deadlineMs: 5_000 }, deps);
    expect(result.healthy).toBe(false);
    expect(Math.max(...probeTimes)).toBeLessThanOrEqual(5_000);
    timeouts.forEach((t, i) => expect(t).toBe(Math.min(2_000, 5_000 - probeTimes[i]!)));
    expect(result.elapsedMs).toBeLessThanOrEqual(5_000 + 2_000);
  });

  it('stops at once when the container exits, naming its exit code', async () => {
    const { deps, sleeps } = fakeDeps(
      () => refused,
      (n) => (n >= 2 ? { exists: true, running: false, exitCode: 3, status: 'exited' } : RUNNING),
    );
    const result = await waitUntilHealthy({ hostPort: 20004, path: '/', deadlineMs: 60_000 }, deps);
    expect(result).toMatchObject({ healthy: false, attempts: 2 });
    expect(sleeps).toEqual([50]);
    if (!result.healthy) expect(result.reason).toBe('container exited with code 3 before becoming healthy');
  });

  it('says so when the container was killed for memory, or vanished', async () => {
    const oom = fakeDeps(() => refused, () => ({ exists: true, running: false, exitCode: 137, oomKilled: true, status: 'exited' }));
    const gone = fakeDeps(() => refused, () => ({ exists: false, running: false, status: 'missing' }));
    const a = await waitUntilHealthy({ hostPort: 1, path: '/', deadlineMs: 1_000 }, oom.deps);
    const b = await waitUntilHealthy({ hostPort: 1, path: '/', deadlineMs: 1_000 }, gone.deps);
    expect(a.healthy || a.reason).toBe('container exited with code 137 (killed: out of memory) before becoming healthy');
    expect(b.healthy || b.reason).toBe('container disappeared before becoming healthy');
  });

  it('waits through restarts by the restart policy, and stops once the container was restarted CRASHLOOP_EXITS times', async () => {
    const restarting = (restarts: number): ContainerState => ({ exists: true, running: true, restarting: true, restarts, exitCode: 3, status: 'restarting' });
    const runningAgain = (restarts: number): ContainerState => ({ exists: true, running: true, restarts, exitCode: 0, status: 'running' });
    const states = [restarting(0), runningAgain(1), restarting(1), runningAgain(2), runningAgain(3)];
    const { deps } = fakeDeps(() => refused, (n) => states[Math.min(n, states.length) - 1]!);
    const result = await waitUntilHealthy({ hostPort: 20005, path: '/', deadlineMs: 60_000 }, deps);
    expect(result).toMatchObject({ healthy: false, attempts: 5 });
    if (!result.healthy) expect(result.reason).toBe('container exited with code 3 before becoming healthy (restarted 3 times)');

    const recovers = fakeDeps((n) => (n >= 3 ? { ok: true, status: 200 } : refused), (n) => (n === 1 ? restarting(0) : runningAgain(1)));
    expect(await waitUntilHealthy({ hostPort: 20006, path: '/', deadlineMs: 60_000 }, recovers.deps)).toMatchObject({ healthy: true, attempts: 3 });
  });
});
