import type { AppStatsView, ContainerStatsSample } from '@berth/contracts';
import { FakeClock, STATS_SNAPSHOT_TTL_MS } from '@berth/core';
import { describe, expect, it } from 'vitest';
import { StatsStore, toLiveView } from './stats.store';

const APP = '11111111-1111-4111-8111-111111111111';
const DEP = '22222222-2222-4222-8222-222222222222';
const sample = (cpuPercent: number): ContainerStatsSample => ({
  containerId: 'c1', appId: APP, deploymentId: DEP, cpuPercent, memoryBytes: 10, memoryLimitBytes: 100,
  netRxBytes: 1, netTxBytes: 2, blockReadBytes: 3, blockWriteBytes: 4, pids: 5, restarts: 0,
});
const snapshot = (clock: FakeClock, cpu: number, sampledAt = clock.now().toISOString(), deploymentId = DEP) => ({
  appId: APP, deploymentId, view: toLiveView(sample(cpu), sampledAt),
});

describe('StatsStore (seed 2: snapshots expire 45 s after they were sampled)', () => {
  it('answers live=false for an app it has no snapshot of', () => {
    expect(new StatsStore(new FakeClock()).get(APP)).toEqual({ live: false });
  });

  it('is live within one interval and live=false 45 s after the sample was taken', () => {
    const clock = new FakeClock();
    const store = new StatsStore(clock);
    store.put(snapshot(clock, 12));
    clock.advance(1_000);
    expect(store.get(APP)).toMatchObject({ live: true, cpuPercent: 12, sampledAt: '2026-01-01T00:00:00.000Z' });
    clock.advance(STATS_SNAPSHOT_TTL_MS - 1_001);
    expect(store.get(APP).live).toBe(true);
    clock.advance(1);
    expect(store.get(APP)).toEqual({ live: false });
  });

  it('judges age by when the agent sampled, not when the snapshot arrived', () => {
    const clock = new FakeClock();
    const store = new StatsStore(clock);
    const sampledAt = new Date(clock.now().getTime() - 40_000).toISOString();
    expect(store.put(snapshot(clock, 5, sampledAt))).toBe(true);
    clock.advance(5_000);
    expect(store.get(APP)).toEqual({ live: false });
    expect(store.put(snapshot(clock, 5, new Date(clock.now().getTime() - STATS_SNAPSHOT_TTL_MS).toISOString()))).toBe(false);
  });

  it('keeps the newest sample of a deployment when an older one arrives late', () => {
    const clock = new FakeClock();
    const store = new StatsStore(clock);
    store.put(snapshot(clock, 50));
    expect(store.put(snapshot(clock, 10, new Date(clock.now().getTime() - 1_000).toISOString()))).toBe(false);
    expect(store.get(APP)).toMatchObject({ cpuPercent: 50 });
  });

  it('streams each new view and live=false on expiry; cancel leaves no listener and ends the stream', async () => {
    const clock = new FakeClock();
    const store = new StatsStore(clock);
    const { stream, cancel } = store.subscribeStats(APP);
    expect(store.listenerCount(APP)).toBe(1);
    const seen: AppStatsView[] = [];
    const reading = (async () => {
      for await (const view of stream) seen.push(view);
    })();
    store.put(snapshot(clock, 1));
    await Promise.resolve();
    await new Promise((r) => setImmediate(r));
    clock.advance(STATS_SNAPSHOT_TTL_MS);
    await new Promise((r) => setImmediate(r));
    cancel();
    await reading;
    expect(seen).toEqual([expect.objectContaining({ live: true, cpuPercent: 1 }), { live: false }]);
    expect(store.listenerCount(APP)).toBe(0);
  });

  it('releases every listener of many subscriptions, read or not', () => {
    const clock = new FakeClock();
    const store = new StatsStore(clock);
    const subs = Array.from({ length: 20 }, () => store.subscribeStats(APP));
    expect(store.listenerCount()).toBe(20);
    for (const s of subs) s.cancel();
    expect(store.listenerCount()).toBe(0);
  });

  it('forget() ends the app being live and tells its subscribers', async () => {
    const clock = new FakeClock();
    const store = new StatsStore(clock);
    store.put(snapshot(clock, 1));
    const sub = store.subscribeStats(APP);
    const next = sub.stream[Symbol.asyncIterator]().next();
    store.forget(APP);
    expect((await next).value).toEqual({ live: false });
    expect(store.get(APP)).toEqual({ live: false });
    sub.cancel();
  });
});
