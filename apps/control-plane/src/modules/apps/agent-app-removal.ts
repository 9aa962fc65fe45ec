import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import type { AppRemoveReply, EventOfType } from '@berth/contracts';
import type { StoredEvent } from '@berth/event-store';
import { Reactions } from '../../common/reactions.service';
import { AgentConnections, type AgentSocket } from '../workers/agent-connections';
import { AgentMessages } from '../workers/agent-messages.registry';
import { AppsService } from './apps.service';

/**
 * How long an `app:remove` waits for the agent's {removed} before it is logged as unanswered. The
 * agent removes the app after the job of that app it is running, and a build may take minutes.
 */
export const APP_REMOVE_ACK_TIMEOUT_MS = 15 * 60_000;

/**
 * Tells agents to remove the containers and images of deleted apps (`app:remove`). When AppDeleted
 * is appended, every agent connected to this replica is told (every replica runs this subscription,
 * for its own agents; an everyReplica reaction). An agent that was away then lists the app's container in its next hello, and
 * is told after that hello — but only for an app whose own stream says it was deleted: never on the
 * word of a read model, and never for an app this control plane does not know.
 */
@Injectable()
export class AgentAppRemoval implements OnModuleInit {
  private readonly logger = new Logger('agent-app-removal');

  constructor(
    private readonly reactions: Reactions,
    private readonly connections: AgentConnections,
    private readonly apps: AppsService,
    private readonly messages: AgentMessages,
  ) {}

  onModuleInit(): void {
    this.messages.afterHello((socket) => this.removeDeletedAppsOf(socket));
    this.reactions.everyReplica({ name: 'agent-app-removal', handles: ['AppDeleted'], handle: async (event) => this.tellConnectedAgents(event) });
  }

  /** After a hello: `app:remove` for each deleted app the hello lists a container of, in the order listed. */
  async removeDeletedAppsOf(socket: AgentSocket): Promise<void> {
    const appIds = new Set((socket.data.hello?.containers ?? []).map((c) => c.appId));
    for (const appId of appIds) {
      if (!socket.connected) return;
      if (await this.apps.wasDeleted(appId)) this.send(socket, appId, 'its hello lists a container of a deleted app');
    }
  }

  private tellConnectedAgents(event: StoredEvent): void {
    const { appId } = (event as unknown as EventOfType<'AppDeleted'>).data;
    for (const socket of this.connections.all()) if (socket.connected) this.send(socket, appId, 'the app was deleted');
  }

  /** Fire and forget: an agent that misses it still has the container, so its next hello brings it back. */
  private send(socket: AgentSocket, appId: string, why: string): void {
    const workerId = socket.data.worker.workerId;
    this.logger.log({ workerId, appId, why, msg: 'telling the agent to remove an app' });
    socket.timeout(APP_REMOVE_ACK_TIMEOUT_MS).emit('app:remove', { appId }, (err: Error | null, reply?: AppRemoveReply) => {
      if (err) this.logger.warn({ workerId, appId, msg: 'the agent did not confirm removing an app; it is told again after its next hello' });
      else if (reply?.error) this.logger.warn({ workerId, appId, error: reply.error, msg: 'the agent could not remove an app; it is told again after its next hello' });
      else this.logger.log({ workerId, appId, removed: reply?.removed, msg: 'the agent removed an app' });
    });
  }
}
