import { Global, Module } from '@nestjs/common';
import { STATS_SNAPSHOT_TTL_MS } from '@berth/core';
import { StatsStore } from '../modules/stats/stats.store';
import { CLOCK, type Clock } from './clock';
import { LIVE_STATS } from './live-stats-source';

/**
 * The one in-memory stats store of this replica (seed 2), as LIVE_STATS for the alert poller and the
 * usage recorder; the stats module fills it from the agents' snapshots and serves it.
 */
@Global()
@Module({
  providers: [
    { provide: StatsStore, inject: [CLOCK], useFactory: (clock: Clock) => new StatsStore(clock, STATS_SNAPSHOT_TTL_MS) },
    { provide: LIVE_STATS, useExisting: StatsStore },
  ],
  exports: [StatsStore, LIVE_STATS],
})
export class LiveStatsModule {}
