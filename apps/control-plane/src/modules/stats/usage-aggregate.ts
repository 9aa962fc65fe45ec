/** The `/api/ws/usage` aggregate: the sum of every live app's current snapshot. Pure. */
import { STATS_METRICS, type StatsMetrics } from '@berth/contracts';
import type { StatsSnapshot } from './stats.store';

export type UsageView = {
  /** Apps with a live snapshot. */
  liveApps: number;
} & StatsMetrics;

export function aggregateUsage(snapshots: readonly StatsSnapshot[]): UsageView {
  const usage = { liveApps: snapshots.length } as UsageView;
  for (const metric of STATS_METRICS) usage[metric] = snapshots.reduce((sum, { view }) => sum + view[metric], 0);
  return usage;
}
