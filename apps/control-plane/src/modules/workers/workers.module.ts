import { Module } from '@nestjs/common';
import { DeployModule } from '../deploy/deploy.module';
import { AgentConnections } from './agent-connections';
import { AgentJobFeed } from './agent-job-feed';
import { AgentGateway } from './agent.gateway';
import { WorkersController } from './workers.controller';
import { WorkersRepository } from './workers.repository';
import { WorkersService } from './workers.service';

/** Workers: registration, the read model, and the `/agent` socket.io gateway their agents dial. */
@Module({
  imports: [DeployModule],
  controllers: [WorkersController],
  providers: [WorkersRepository, WorkersService, AgentConnections, AgentJobFeed, AgentGateway],
  exports: [WorkersRepository],
})
export class WorkersModule {}
