import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import type { RoutesReply } from '@berth/contracts';
import { structuredLogger } from '../../common/structured-logger';
import { AgentConnections, type AgentSocket } from '../workers/agent-connections';
import { AgentMessages } from '../workers/agent-messages.registry';
import { RoutesService } from './routes.service';
import { WorkerRoutesFeed, type RoutesTarget } from './worker-routes-feed';

const ROUTES_ACK_TIMEOUT_MS = 10_000;

/**
 * Pushes each agent connected to this replica that drives a local proxy its worker's routes (message
 * `routes`): after its hello, and after every projected route change (coalesced: one pass at a time,
 * one more if changes came in meanwhile).
 */
@Injectable()
export class AgentRoutes implements OnModuleInit {
  private readonly logger = new Logger('agent-routes');
  private readonly feed: WorkerRoutesFeed;
  private pushing?: Promise<void>;
  private again = false;

  constructor(
    private readonly routes: RoutesService,
    private readonly connections: AgentConnections,
    private readonly messages: AgentMessages,
  ) {
    this.feed = new WorkerRoutesFeed((workerId) => this.routes.workerRoutes(workerId), structuredLogger(this.logger));
  }

  onModuleInit(): void {
    this.messages.afterHello(async (socket, hello) => {
      if (hello.proxy === 'caddy') await this.feed.hello(target(socket));
    });
    this.routes.onChange(() => this.pushAll());
  }

  private pushAll(): void {
    if (this.pushing) {
      this.again = true;
      return;
    }
    this.pushing = (async () => {
      do {
        this.again = false;
        await this.feed.changed(this.connections.all().filter(drivesItsProxy).map(target));
      } while (this.again);
    })().finally(() => (this.pushing = undefined));
  }
}

/** Agents that said they drive a local proxy (BERTH_PROXY=caddy); Traefik polls by itself. */
function drivesItsProxy(socket: AgentSocket): boolean {
  return socket.connected && socket.data.hello?.proxy === 'caddy';
}

function target(socket: AgentSocket): RoutesTarget {
  return {
    workerId: socket.data.worker.workerId,
    send: async (msg) => {
      const reply = (await socket.timeout(ROUTES_ACK_TIMEOUT_MS).emitWithAck('routes', msg)) as RoutesReply;
      if (!reply.applied) throw new Error(`the agent did not apply its routes: ${reply.error ?? 'no reason given'}`);
    },
  };
}
