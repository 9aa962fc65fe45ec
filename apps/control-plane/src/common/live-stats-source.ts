import type { AppStatsView } from '@berth/contracts';

/**
 * What the alert poller and the usage recorder read of the live stats (seed 2): the latest snapshot
 * per app, `{live: false}` on a miss. The stats module's StatsStore provides it (LiveStatsModule).
 */
export interface LiveStatsSource {
  get(appId: string): AppStatsView;
  /** Apps that have a live snapshot now. */
  liveAppIds(): Iterable<string>;
}

export const LIVE_STATS = Symbol('LiveStatsSource');
