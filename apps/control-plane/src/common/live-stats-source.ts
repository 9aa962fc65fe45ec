import type { AppStatsView } from '@berth/contracts';

/**
 * What the alert poller and the usage recorder read of the live stats (seed 2): the latest snapshot
 * per app, `{live: false}` on a miss. The stats module's store provides it (bound to LIVE_STATS);
 * until it is bound, InMemoryLiveStats stands in (and tests feed it directly).
 */
export interface LiveStatsSource {
  get(appId: string): AppStatsView;
  /** Apps that have a live snapshot now. */
  liveAppIds(): Iterable<string>;
}

export const LIVE_STATS = Symbol('LiveStatsSource');

/** A LiveStatsSource kept by whoever sets it (tests, or an adapter); snapshots do not expire. */
export class InMemoryLiveStats implements LiveStatsSource {
  private readonly views = new Map<string, AppStatsView & { live: true }>();

  set(appId: string, view: AppStatsView): void {
    if (view.live) this.views.set(appId, view);
    else this.views.delete(appId);
  }

  get(appId: string): AppStatsView {
    return this.views.get(appId) ?? { live: false };
  }

  liveAppIds(): Iterable<string> {
    return this.views.keys();
  }
}
