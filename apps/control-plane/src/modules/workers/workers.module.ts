import { Module } from '@nestjs/common';
import { AppsModule } from '../apps/apps.module';
import { DeployModule } from '../deploy/deploy.module';
import { AgentAppRemoval } from './agent-app-removal';
import { AgentConnections } from './agent-connections';
import { AgentJobFeed } from './agent-job-feed';
import { AgentGateway } from './agent.gateway';
import { WorkersController } from './workers.controller';
import { WorkersRepository } from './workers.repository';
import { WorkersService } from './workers.service';

/** Workers: registration, the read model, and the `/agent` socket.io gateway their agents dial. */
@Module({
  imports: [AppsModule, DeployModule],
  controllers: [WorkersController],
  providers: [WorkersRepository, WorkersService, AgentConnections, AgentJobFeed, AgentAppRemoval, AgentGateway],
  exports: [WorkersRepository],
})
export class WorkersModule {}
