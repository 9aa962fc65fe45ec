import { Global, Module } from '@nestjs/common';
import { InMemoryLiveStats, LIVE_STATS } from './live-stats-source';

/** Binds LIVE_STATS for the alert poller and the usage recorder (the stats store replaces the stand-in). */
@Global()
@Module({
  providers: [{ provide: LIVE_STATS, useClass: InMemoryLiveStats }],
  exports: [LIVE_STATS],
})
export class LiveStatsModule {}
