import { DAY_MS, USAGE_BUCKET_MS } from '@berth/core';
import { describe, expect, it } from 'vitest';
import { addSample, bucketFromRow, bucketStartOf, clampWindow, rowOf, type AppUsageMemory } from './usage-bucket';

const T0 = new Date('2026-12-03T10:00:00.000Z');
const at = (minutes: number) => new Date(T0.getTime() + minutes * 60_000);
const sample = (cpuPercent: number, memoryBytes: number, netRxBytes: number, netTxBytes: number) => ({ cpuPercent, memoryBytes, netRxBytes, netTxBytes });

describe('usage buckets', () => {
  it('a bucket is 5 minutes, aligned', () => {
    expect(bucketStartOf(at(7.5))).toEqual(at(5));
    expect(bucketStartOf(at(5))).toEqual(at(5));
    expect(USAGE_BUCKET_MS).toBe(5 * 60_000);
  });

  it('each minute folds into the bucket so far: averages, max, and bytes moved within the bucket', () => {
    let m: AppUsageMemory = {};
    m = addSample(m, sample(10, 100, 1000, 50), at(0)); // baseline for the counters
    m = addSample(m, sample(30, 300, 1500, 80), at(1));
    m = addSample(m, sample(20, 200, 1600, 90), at(2));
    expect(rowOf('a', m.bucket!)).toEqual({ appId: 'a', bucketStart: at(0), cpuAvg: 20, memAvg: 200, memMax: 300, netRx: 600, netTx: 40, samples: 3 });
  });

  it('a new bucket starts from zero but counts the bytes since the last minute of the previous one', () => {
    let m: AppUsageMemory = {};
    m = addSample(m, sample(10, 100, 1000, 0), at(4));
    m = addSample(m, sample(50, 500, 1400, 0), at(5));
    expect(rowOf('a', m.bucket!)).toMatchObject({ bucketStart: at(5), cpuAvg: 50, memMax: 500, netRx: 400, samples: 1 });
  });

  it('a counter that went down (the container restarted) counts from zero', () => {
    let m: AppUsageMemory = {};
    m = addSample(m, sample(0, 0, 5000, 0), at(0));
    m = addSample(m, sample(0, 0, 300, 0), at(1));
    expect(m.bucket!.netRx).toBe(300);
  });

  it('a bucket started by another replica continues from its row', () => {
    const seeded: AppUsageMemory = { bucket: bucketFromRow({ appId: 'a', bucketStart: at(0), cpuAvg: 10, memAvg: 100, memMax: 150, netRx: 7, netTx: 1, samples: 2 }) };
    const m = addSample(seeded, sample(40, 400, 0, 0), at(3));
    expect(rowOf('a', m.bucket!)).toMatchObject({ cpuAvg: 20, memAvg: 200, memMax: 400, netRx: 7, samples: 3 });
  });

  it('the window never reaches past 90 days, and says where it clamped', () => {
    const now = at(0);
    expect(clampWindow(new Date(now.getTime() - 200 * DAY_MS), undefined, now)).toEqual({ from: new Date(now.getTime() - 90 * DAY_MS), to: now });
    expect(clampWindow(at(-60), at(-30), now)).toEqual({ from: at(-60), to: at(-30) });
    expect(clampWindow(undefined, undefined, now)).toEqual({ from: new Date(now.getTime() - DAY_MS), to: now });
  });
});
