/**
 * Seed 7, pure: "Recorder writes one row per (app_id, 5-min bucket) per minute (last write wins for the
 * same bucket)." Each minute's live sample is folded into the app's bucket-so-far, and the whole
 * bucket-so-far is written: averages over the samples so far, the max, and the network bytes moved
 * within the bucket.
 *
 * Network: the agent reports counters (totals since the container started). The bytes of a bucket are
 * the sum of the increases between consecutive samples; a counter that went down means the container
 * restarted, and counts from zero. The first sample an app ever gives is only a baseline.
 */
import { DAY_MS, USAGE_BUCKET_MS, USAGE_RETENTION_DAYS } from '@berth/core';

export interface UsageSample {
  cpuPercent: number;
  memoryBytes: number;
  netRxBytes: number;
  netTxBytes: number;
}

export interface BucketSoFar {
  bucketStart: Date;
  cpuSum: number;
  memSum: number;
  memMax: number;
  netRx: number;
  netTx: number;
  samples: number;
}

/** What the recorder keeps per app between minutes. */
export interface AppUsageMemory {
  bucket?: BucketSoFar;
  lastCounters?: { rx: number; tx: number };
}

export interface UsageRow {
  appId: string;
  bucketStart: Date;
  cpuAvg: number;
  memAvg: number;
  memMax: number;
  netRx: number;
  netTx: number;
  samples: number;
}

export function bucketStartOf(at: Date): Date {
  return new Date(Math.floor(at.getTime() / USAGE_BUCKET_MS) * USAGE_BUCKET_MS);
}

/** The oldest instant the usage table keeps (and the endpoint reads): exactly 90 days before now. */
export function retentionStart(now: Date): Date {
  return new Date(now.getTime() - USAGE_RETENTION_DAYS * DAY_MS);
}

const increase = (now: number, before: number | undefined) => (before === undefined ? 0 : now >= before ? now - before : now);

export function addSample(memory: AppUsageMemory, sample: UsageSample, now: Date): AppUsageMemory {
  const bucketStart = bucketStartOf(now);
  const current = memory.bucket && memory.bucket.bucketStart.getTime() === bucketStart.getTime() ? memory.bucket : undefined;
  const base: BucketSoFar = current ?? { bucketStart, cpuSum: 0, memSum: 0, memMax: 0, netRx: 0, netTx: 0, samples: 0 };
  const bucket: BucketSoFar = {
    bucketStart,
    cpuSum: base.cpuSum + sample.cpuPercent,
    memSum: base.memSum + sample.memoryBytes,
    memMax: Math.max(base.memMax, sample.memoryBytes),
    netRx: base.netRx + increase(sample.netRxBytes, memory.lastCounters?.rx),
    netTx: base.netTx + increase(sample.netTxBytes, memory.lastCounters?.tx),
    samples: base.samples + 1,
  };
  return { bucket, lastCounters: { rx: sample.netRxBytes, tx: sample.netTxBytes } };
}

/** A bucket-so-far from its stored row (another replica recorded the start of this bucket). */
export function bucketFromRow(row: UsageRow): BucketSoFar {
  return {
    bucketStart: row.bucketStart,
    cpuSum: row.cpuAvg * row.samples,
    memSum: row.memAvg * row.samples,
    memMax: row.memMax,
    netRx: row.netRx,
    netTx: row.netTx,
    samples: row.samples,
  };
}

export function rowOf(appId: string, b: BucketSoFar): UsageRow {
  return {
    appId,
    bucketStart: b.bucketStart,
    cpuAvg: b.cpuSum / b.samples,
    memAvg: b.memSum / b.samples,
    memMax: b.memMax,
    netRx: b.netRx,
    netTx: b.netTx,
    samples: b.samples,
  };
}

/** The window the endpoint answers: `from` clamped to the retention start, `to` at most now. */
export function clampWindow(from: Date | undefined, to: Date | undefined, now: Date): { from: Date; to: Date } {
  const oldest = retentionStart(now);
  const end = to && to.getTime() < now.getTime() ? to : now;
  const start = from ?? new Date(end.getTime() - DAY_MS);
  return { from: start.getTime() < oldest.getTime() ? oldest : start, to: end };
}
