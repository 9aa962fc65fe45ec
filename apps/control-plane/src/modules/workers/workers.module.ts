import { Module } from '@nestjs/common';
import { AgentConnections } from './agent-connections';
import { AgentMessages } from './agent-messages.registry';
import { AgentPresence } from './agent-presence';
import { AgentGateway } from './agent.gateway';
import { WorkerHealth } from './worker-health';
import { WorkerAgentMessages } from './workers.agent-messages';
import { WorkersController } from './workers.controller';
import { WorkersRepository } from './workers.repository';
import { WorkersService } from './workers.service';

/**
 * Workers: registration, the read models, and the `/agent` socket.io gateway their agents dial. Other
 * modules register their agent messages with AgentMessages and reach connected agents through
 * AgentConnections; this module imports none of them.
 */
@Module({
  controllers: [WorkersController],
  providers: [WorkersRepository, WorkersService, AgentConnections, AgentMessages, WorkerAgentMessages, AgentPresence, AgentGateway, WorkerHealth],
  exports: [WorkersService, AgentConnections, AgentMessages],
})
export class WorkersModule {}
