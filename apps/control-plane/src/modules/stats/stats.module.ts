import { Module } from '@nestjs/common';
import { LiveBusModule } from '../../common/live-bus';
import { AppsModule } from '../apps/apps.module';
import { DeployModule } from '../deploy/deploy.module';
import { WorkersModule } from '../workers/workers.module';
import { StatsController } from './stats.controller';
import { AppStatsGateway, UsageGateway } from './stats.gateway';
import { StatsService } from './stats.service';

/** Live container metrics (seed 2): agent snapshots in memory, the stats endpoint and the two stats namespaces. */
@Module({
  imports: [LiveBusModule, WorkersModule, AppsModule, DeployModule],
  controllers: [StatsController],
  providers: [StatsService, AppStatsGateway, UsageGateway],
  exports: [StatsService],
})
export class StatsModule {}
