import type { AppStatsView } from '@berth/contracts';
import type { StatsStore } from '../../apps/control-plane/src/modules/stats/stats.store';

/** Puts an app's view into a control plane's stats store, as an agent's snapshot would (live=false forgets it). */
export function feedStats(store: StatsStore, appId: string, view: AppStatsView, deploymentId = '00000000-0000-4000-8000-000000000000'): void {
  if (!view.live) return store.forget(appId);
  if (!store.put({ appId, deploymentId, view })) throw new Error(`the stats store refused a snapshot sampled at ${view.sampledAt}`);
}
