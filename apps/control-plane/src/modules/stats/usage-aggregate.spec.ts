import { describe, expect, it } from 'vitest';
import { chunksUnder } from './stats.service';
import { aggregateUsage } from './usage-aggregate';
import type { StatsSnapshot } from './stats.store';

const snap = (appId: string, cpuPercent: number, memoryBytes: number): StatsSnapshot => ({
  appId, deploymentId: 'd', view: { live: true, sampledAt: '2026-01-01T00:00:00.000Z', cpuPercent, memoryBytes, memoryLimitBytes: 100, netRxBytes: 1, netTxBytes: 2, blockReadBytes: 3, blockWriteBytes: 4, pids: 5, restarts: 1 },
});

describe('usage aggregate', () => {
  it('sums every live app', () => {
    expect(aggregateUsage([snap('a', 10, 1000), snap('b', 2.5, 24)])).toEqual({
      liveApps: 2, cpuPercent: 12.5, memoryBytes: 1024, memoryLimitBytes: 200, netRxBytes: 2, netTxBytes: 4, blockReadBytes: 6, blockWriteBytes: 8, pids: 10, restarts: 2,
    });
  });
  it('is all zeros with nothing live', () => {
    expect(aggregateUsage([])).toMatchObject({ liveApps: 0, cpuPercent: 0, memoryBytes: 0 });
  });
});

describe('chunksUnder (every NOTIFY payload stays under PostgreSQL limit)', () => {
  it('splits snapshots into chunks whose JSON is under the limit, keeping order and every item', () => {
    const items = Array.from({ length: 200 }, (_, i) => snap(`app-${i}`, i, i));
    const chunks = chunksUnder(items, 7_000);
    expect(chunks.length).toBeGreaterThan(1);
    for (const c of chunks) expect(Buffer.byteLength(JSON.stringify(c))).toBeLessThanOrEqual(7_000);
    expect(chunks.flat()).toEqual(items);
  });
});
