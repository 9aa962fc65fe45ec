/**
 * Daily retention of telemetry, in small batches so no statement holds a lock for long: runtime logs
 * older than BERTH_LOG_RETENTION_DAYS, build output of deployments past the newest 50 of their app,
 * worker heartbeats older than a day. Each table is pruned by the module that owns it.
 */
import { DAY_MS } from '@berth/core';

/** Deployments per app whose build output is kept. */
export const BUILD_LOGS_KEPT_PER_APP = 50;
/** Rows one DELETE removes at most. */
export const RETENTION_BATCH = 5_000;
/** Worker heartbeats are kept this long. */
export const HEARTBEAT_RETENTION_MS = DAY_MS;

export interface RetentionTargets {
  pruneRuntimeLogs(before: Date, batch: number): Promise<number>;
  pruneBuildLogs(keepPerApp: number, batch: number): Promise<number>;
  pruneHeartbeats(before: Date, batch: number): Promise<number>;
}

export interface RetentionResult {
  runtimeLogs: number;
  buildLogs: number;
  heartbeats: number;
}

/** Calls `prune` until a batch comes back short (or maxBatches ran); the rows deleted in all. */
export async function pruneInBatches(prune: (batch: number) => Promise<number>, batch = RETENTION_BATCH, maxBatches = 10_000): Promise<number> {
  let total = 0;
  for (let i = 0; i < maxBatches; i++) {
    const n = await prune(batch);
    total += n;
    if (n < batch) break;
  }
  return total;
}

export async function runRetention(now: Date, targets: RetentionTargets, logRetentionDays: number, batch = RETENTION_BATCH): Promise<RetentionResult> {
  const logsBefore = new Date(now.getTime() - logRetentionDays * DAY_MS);
  const heartbeatsBefore = new Date(now.getTime() - HEARTBEAT_RETENTION_MS);
  return {
    runtimeLogs: await pruneInBatches((n) => targets.pruneRuntimeLogs(logsBefore, n), batch),
    buildLogs: await pruneInBatches((n) => targets.pruneBuildLogs(BUILD_LOGS_KEPT_PER_APP, n), batch),
    heartbeats: await pruneInBatches((n) => targets.pruneHeartbeats(heartbeatsBefore, n), batch),
  };
}
