import { Module } from '@nestjs/common';
import { DeployModule } from '../deploy/deploy.module';
import { WorkersModule } from '../workers/workers.module';
import { SchedulerService } from './scheduler.service';

/** Places queued deployments on workers; runs on the one replica holding the scheduler's advisory lock. */
@Module({
  imports: [DeployModule, WorkersModule],
  providers: [SchedulerService],
})
export class SchedulerModule {}
