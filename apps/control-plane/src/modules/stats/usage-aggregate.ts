/** The `/api/ws/usage` aggregate: the sum of every live app's current snapshot. Pure. */
import type { StatsSnapshot } from './stats.store';

export interface UsageView {
  /** Apps with a live snapshot. */
  liveApps: number;
  cpuPercent: number;
  memoryBytes: number;
  memoryLimitBytes: number;
  netRxBytes: number;
  netTxBytes: number;
  blockReadBytes: number;
  blockWriteBytes: number;
  pids: number;
  restarts: number;
}

export function aggregateUsage(snapshots: readonly StatsSnapshot[]): UsageView {
  const usage: UsageView = {
    liveApps: 0, cpuPercent: 0, memoryBytes: 0, memoryLimitBytes: 0, netRxBytes: 0, netTxBytes: 0,
    blockReadBytes: 0, blockWriteBytes: 0, pids: 0, restarts: 0,
  };
  for (const { view } of snapshots) {
    usage.liveApps += 1;
    usage.cpuPercent += view.cpuPercent;
    usage.memoryBytes += view.memoryBytes;
    usage.memoryLimitBytes += view.memoryLimitBytes;
    usage.netRxBytes += view.netRxBytes;
    usage.netTxBytes += view.netTxBytes;
    usage.blockReadBytes += view.blockReadBytes;
    usage.blockWriteBytes += view.blockWriteBytes;
    usage.pids += view.pids;
    usage.restarts += view.restarts;
  }
  return usage;
}
