import { Logger, OnModuleDestroy } from '@nestjs/common';
import { OnGatewayConnection, OnGatewayInit, WebSocketGateway } from '@nestjs/websockets';
import { AGENT_NAMESPACE, type ErrorBody } from '@berth/contracts';
import type { Namespace, Socket } from 'socket.io';
import { AgentConnections, type AgentSocket, type AgentSocketData } from './agent-connections';
import { AgentMessages } from './agent-messages.registry';
import { WorkersService } from './workers.service';

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
 * the handshake. It authenticates and dispatches; each message is owned by the module that registered
 * it with AgentMessages (workers: hello, heartbeat; deploy: job results; logs and stats: telemetry).
 */
@WebSocketGateway({ namespace: AGENT_NAMESPACE })
export class AgentGateway implements OnGatewayInit<Namespace>, OnGatewayConnection<AgentSocket>, OnModuleDestroy {
  private readonly logger = new Logger('agent-gateway');
  private closing = false;

  constructor(
    private readonly workers: WorkersService,
    private readonly connections: AgentConnections,
    private readonly messages: AgentMessages,
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
    (socket as unknown as Socket).onAny((event: string, ...args: unknown[]) => void this.messages.dispatch(socket, event, args));
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
