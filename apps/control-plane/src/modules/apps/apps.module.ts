import { Module } from '@nestjs/common';
import { WorkersModule } from '../workers/workers.module';
import { AgentAppRemoval } from './agent-app-removal';
import { AppsController } from './apps.controller';
import { AppsRepository } from './apps.repository';
import { AppsService } from './apps.service';

@Module({
  imports: [WorkersModule],
  controllers: [AppsController],
  providers: [AppsRepository, AppsService, AgentAppRemoval],
  exports: [AppsService],
})
export class AppsModule {}
