import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import type { EventOfType } from '@berth/contracts';
import type { StoredEvent } from '@berth/event-store';
import { Reactions } from '../../common/reactions.service';
import { AgentConnections } from './agent-connections';
import { WorkersService } from './workers.service';

/**
 * Heals a race between replicas: when an agent moved to this replica and the replica it left noticed
 * the drop late, that replica's WorkerWentOffline lands after the agent's hello here. A worker still
 * connected here is brought back online (an everyReplica reaction: each replica for its own agents).
 */
@Injectable()
export class AgentPresence implements OnModuleInit {
  private readonly logger = new Logger('agent-presence');

  constructor(
    private readonly reactions: Reactions,
    private readonly connections: AgentConnections,
    private readonly workers: WorkersService,
  ) {}

  onModuleInit(): void {
    this.reactions.everyReplica({
      name: 'agent-presence',
      handles: ['WorkerWentOffline'],
      handle: (event) => this.healOffline(event as unknown as EventOfType<'WorkerWentOffline'> & StoredEvent),
    });
    this.reactions.everyReplica({
      name: 'agent-revocation',
      handles: ['WorkerRemoved'],
      handle: async (event) => {
        const { workerId } = (event as unknown as EventOfType<'WorkerRemoved'>).data;
        const socket = this.connections.get(workerId);
        if (!socket) return;
        this.logger.log({ workerId, msg: 'the worker was removed: closing its agent connection' });
        socket.disconnect(true);
      },
    });
  }

  private async healOffline(event: EventOfType<'WorkerWentOffline'> & StoredEvent): Promise<void> {
    const socket = this.connections.get(event.data.workerId);
    const hello = socket?.data.hello;
    if (!socket || !hello || !socket.connected) return;
    if (event.data.lastHeartbeatAt !== undefined) {
      // Taken offline for silence (a frozen agent, a half-open connection), not for a drop seen elsewhere:
      // its connection is not proof of life. Closing it makes the agent, once it runs again, reconnect and
      // say hello, which reports its containers for reconciliation; bringing it back online here would
      // skip that and leave its apps stopped.
      this.logger.warn({ workerId: event.data.workerId, msg: 'worker went silent: closing its agent connection so it says hello again' });
      socket.disconnect(true);
      return;
    }
    this.logger.log({ workerId: event.data.workerId, msg: 'worker marked offline elsewhere but connected here: bringing it back online' });
    await this.workers.bringOnline(event.data.workerId, hello.capacity, hello.advertiseIp, hello.containers);
  }
}
