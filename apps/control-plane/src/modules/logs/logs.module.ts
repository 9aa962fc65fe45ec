import { Module } from '@nestjs/common';
import { LiveBusModule } from '../../common/live-bus';
import { AppsModule } from '../apps/apps.module';
import { DeployModule } from '../deploy/deploy.module';
import { WorkersModule } from '../workers/workers.module';
import { LogsController } from './logs.controller';
import { AppLogsGateway, DeploymentLogsGateway } from './logs.gateway';
import { LogsService } from './logs.service';
import { RuntimeLogsRepository } from './runtime-logs.repository';

/** Runtime logs (seed 3) and live build output: ingestion, `runtime_logs`, the logs API and namespaces, daily retention. */
@Module({
  imports: [LiveBusModule, WorkersModule, AppsModule, DeployModule],
  controllers: [LogsController],
  providers: [RuntimeLogsRepository, LogsService, AppLogsGateway, DeploymentLogsGateway],
  exports: [LogsService],
})
export class LogsModule {}
