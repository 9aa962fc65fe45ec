import { ConcurrencyError } from '@berth/event-store';
import { Logger, OnModuleDestroy } from '@nestjs/common';
import { OnGatewayConnection, OnGatewayInit, WebSocketGateway } from '@nestjs/websockets';
import { AGENT_NAMESPACE, type AgentAck, type AgentToServer, type ErrorBody } from '@berth/contracts';
import type { Namespace, Socket } from 'socket.io';
import { toErrorBody } from '../../common/http-exception.filter';
import { DeployService } from '../deploy/deploy.service';
import { AgentAppRemoval } from './agent-app-removal';
import { AgentConnections, type AgentSocket, type AgentSocketData } from './agent-connections';
import { AgentJobFeed } from './agent-job-feed';
import { parseAgentMessage } from './agent-messages';
import { WorkersService } from './workers.service';

type MessageOf<K extends keyof AgentToServer> = Parameters<AgentToServer[K]>[0];
type Handlers = { [K in keyof AgentToServer]: (socket: AgentSocket, msg: MessageOf<K>) => Promise<unknown> };

/** What an agent is told when its connection is refused (socket.io `connect_error`, err.message and err.data). */
class ConnectionRefused extends Error {
  readonly data: ErrorBody;
  constructor(statusCode: number, message: string) {
    super(message);
    this.data = { statusCode, error: statusCode === 401 ? 'Unauthorized' : 'Service Unavailable', message };
  }
}

/**
 * socket.io namespace `/agent`: one connection per worker agent, authenticated by the worker token in
 * the handshake. Every message is checked, then becomes one call on the workers or deploy service, and
 * is answered through its ack with `{ok: true, result}` or `{ok: false, error}`.
 */
@WebSocketGateway({ namespace: AGENT_NAMESPACE })
export class AgentGateway implements OnGatewayInit<Namespace>, OnGatewayConnection<AgentSocket>, OnModuleDestroy {
  private readonly logger = new Logger('agent-gateway');
  private closing = false;

  private readonly handlers: Handlers = {
    hello: async (socket, msg) => {
      const { workerId, name } = socket.data.worker;
      await this.workers.bringOnline(workerId, msg.capacity, msg.advertiseIp);
      socket.data.hello = msg;
      if (!socket.connected && !this.connections.get(workerId)) {
        // The agent dropped while its hello was recorded: the offline from the disconnect may have come first.
        await this.workers.takeOffline(workerId, 'the agent disconnected while saying hello');
        return { workerId, name };
      }
      await this.workers.recordHeartbeat(workerId, msg.capacity, msg.containers.filter((c) => c.running).length);
      this.logger.log({ workerId, name, agentVersion: msg.agentVersion, capacity: msg.capacity, msg: 'agent said hello' });
      return { workerId, name };
    },
    heartbeat: (socket, msg) => this.workers.recordHeartbeat(socket.data.worker.workerId, msg.capacity, msg.runningContainers),
    'job:started': (socket, msg) => this.deploy.recordJobStarted(socket.data.worker.workerId, msg),
    'job:log': (socket, msg) => this.deploy.recordBuildLog(socket.data.worker.workerId, msg),
    'job:image-built': (socket, msg) => this.deploy.recordImageBuilt(socket.data.worker.workerId, msg),
    'job:container-started': (socket, msg) => this.deploy.recordContainerStarted(socket.data.worker.workerId, msg),
    'job:succeeded': (socket, msg) => this.deploy.recordJobSucceeded(socket.data.worker.workerId, msg),
    'job:failed': (socket, msg) => this.deploy.recordJobFailed(socket.data.worker.workerId, msg),
  };

  constructor(
    private readonly workers: WorkersService,
    private readonly deploy: DeployService,
    private readonly connections: AgentConnections,
    private readonly jobs: AgentJobFeed,
    private readonly removals: AgentAppRemoval,
  ) {}

  afterInit(namespace: Namespace): void {
    namespace.use((socket, next) => {
      this.authenticate(socket.handshake.auth, socket.data as AgentSocketData).then(
        () => next(),
        (err: unknown) => next(err instanceof Error ? err : new Error(String(err))),
      );
    });
  }

  /** Once the application is shutting down, dropped connections are not a worker outage. */
  onModuleDestroy(): void {
    this.closing = true;
  }

  handleConnection(socket: AgentSocket): void {
    const previous = this.connections.add(socket);
    if (previous) {
      this.logger.log({ workerId: socket.data.worker.workerId, msg: 'a new agent connection replaces the previous one' });
      previous.disconnect(true);
    }
    for (const event of Object.keys(this.handlers) as (keyof AgentToServer)[]) {
      (socket as unknown as Socket).on(event, (...args: unknown[]) => void this.dispatch(socket, event, args));
    }
    socket.on('disconnect', (reason) => void this.onDisconnect(socket, reason));
  }

  private async authenticate(auth: Record<string, unknown> | undefined, data: AgentSocketData): Promise<void> {
    const token = auth?.token;
    if (typeof token !== 'string' || token.length === 0) {
      throw new ConnectionRefused(401, 'missing worker token: connect with auth {token} set to the token POST /api/workers returned');
    }
    let worker;
    try {
      worker = await this.workers.authenticate(token);
    } catch (err) {
      this.logger.error({ err, msg: 'could not check an agent token' });
      throw new ConnectionRefused(503, 'the control plane could not check the worker token; try again');
    }
    if (!worker) throw new ConnectionRefused(401, 'the worker token is not valid: it belongs to no registered worker');
    data.worker = worker;
  }

  private async dispatch<K extends keyof AgentToServer>(socket: AgentSocket, event: K, args: unknown[]): Promise<void> {
    const ack = typeof args[args.length - 1] === 'function' ? (args.pop() as (reply: AgentAck) => void) : () => undefined;
    let reply: AgentAck;
    try {
      const msg = parseAgentMessage(event, args[0]);
      const result = await this.handlers[event](socket, msg);
      reply = result === undefined ? { ok: true } : { ok: true, result };
    } catch (err) {
      // A concurrent writer moved the deployment on: the agent should send the result again, not drop it.
      const { body, unexpected } =
        err instanceof ConcurrencyError
          ? { body: { statusCode: 503, error: 'Service Unavailable', message: `${err.message}; send it again` }, unexpected: false }
          : toErrorBody(err);
      if (unexpected) this.logger.error({ err, event, workerId: socket.data.worker.workerId, correlationId: body.correlationId, msg: 'agent message failed' });
      reply = { ok: false, error: body };
    }
    try {
      ack(reply);
    } catch (err) {
      this.logger.warn({ err, event, msg: 'could not answer an agent message' });
    }
    if (event === 'hello' && reply.ok && socket.connected) {
      this.jobs.sendHeldJobs(socket).catch((err: unknown) => this.logger.warn({ err, msg: 'could not send held jobs after hello' }));
      this.removals.removeDeletedAppsOf(socket).catch((err: unknown) => this.logger.warn({ err, msg: 'could not look for deleted apps after hello' }));
    }
  }

  private async onDisconnect(socket: AgentSocket, reason: string): Promise<void> {
    const workerId = socket.data.worker.workerId;
    if (!this.connections.remove(socket) || this.closing) return;
    try {
      await this.workers.takeOffline(workerId, `the agent disconnected (${reason})`);
    } catch (err) {
      this.logger.warn({ err, workerId, msg: 'could not mark a disconnected worker offline' });
    }
  }
}
