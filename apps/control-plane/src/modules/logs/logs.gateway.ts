import { Logger } from '@nestjs/common';
import { OnGatewayConnection, OnGatewayInit, WebSocketGateway } from '@nestjs/websockets';
import type { BuildLogLine } from '@berth/contracts';
import type { Namespace, Socket } from 'socket.io';
import { bad, int, optional } from '../../common/checks';
import { guardHandshake, namespaceParam, requireApiToken } from '../../common/ws-handshake';
import { AuthService } from '../auth/auth.service';
import { DeploymentTelemetry } from '../deploy/deployment-telemetry';
import { LogsService, MAX_TAIL, parseCursor } from './logs.service';
import type { StoredLogLine } from './runtime-logs.repository';

/** Server -> client events of the log namespaces: batches of lines, in order, each line once. */
export interface LogServerEvents {
  lines: (lines: StoredLogLine[]) => void;
  'build-lines': (lines: BuildLogLine[]) => void;
}

export const APP_LOGS_NAMESPACE = /^\/api\/apps\/([^/]+)\/ws\/logs$/;
export const DEPLOYMENT_LOGS_NAMESPACE = /^\/api\/deployments\/([^/]+)\/ws\/logs$/;

const handshake = (socket: Socket) => (socket.handshake.auth ?? {}) as Record<string, unknown>;

/**
 * `/api/apps/:id/ws/logs`, handshake `auth: {token, after?, tail?}`: the lines after `after` (or the
 * last `tail`) from the database, then live lines, as `lines` events; reconnect with the last id seen
 * as `after` to miss nothing.
 */
@WebSocketGateway({ namespace: APP_LOGS_NAMESPACE })
export class AppLogsGateway implements OnGatewayInit<Namespace>, OnGatewayConnection<Socket> {
  private readonly logger = new Logger('logs-gateway');

  constructor(
    private readonly logs: LogsService,
    private readonly auth: AuthService,
  ) {}

  afterInit(namespace: Namespace): void {
    guardHandshake(namespace, async (socket) => {
      await requireApiToken(this.auth, socket);
      const { after, tail } = handshake(socket);
      socket.data.after = after === undefined ? undefined : parseCursor(after, 'auth.after');
      socket.data.tail = optional(int(1, MAX_TAIL))(tail, 'auth.tail');
      const appId = namespaceParam(socket, APP_LOGS_NAMESPACE);
      await this.logs.requireApp(appId);
      socket.data.appId = appId;
    });
  }

  async handleConnection(socket: Socket<Record<string, never>, LogServerEvents>): Promise<void> {
    const { appId, after, tail } = socket.data as { appId: string; after?: string; tail?: number };
    let cancelled = false;
    let cancel: () => void = () => {
      cancelled = true;
    };
    socket.on('disconnect', () => cancel());
    try {
      const sub = await this.logs.subscribe(appId, { after, tail }, (lines) => socket.emit('lines', lines));
      if (cancelled) return sub.cancel();
      cancel = sub.cancel;
      await sub.ready;
    } catch (err) {
      this.logger.warn({ err, appId, msg: 'could not stream logs to a client' });
      socket.disconnect(true);
    }
  }
}

/** `/api/deployments/:id/ws/logs`, handshake `auth: {token, after?: seq}`: build output, history then live, as `build-lines`. */
@WebSocketGateway({ namespace: DEPLOYMENT_LOGS_NAMESPACE })
export class DeploymentLogsGateway implements OnGatewayInit<Namespace>, OnGatewayConnection<Socket> {
  private readonly logger = new Logger('logs-gateway');

  constructor(
    private readonly logs: LogsService,
    private readonly auth: AuthService,
    private readonly deployments: DeploymentTelemetry,
  ) {}

  afterInit(namespace: Namespace): void {
    guardHandshake(namespace, async (socket) => {
      await requireApiToken(this.auth, socket);
      const { after } = handshake(socket);
      if (after !== undefined && (typeof after !== 'number' || !Number.isInteger(after) || after < 0)) throw bad('auth.after', 'must be the seq of the last line seen');
      socket.data.after = after ?? -1;
      const deploymentId = namespaceParam(socket, DEPLOYMENT_LOGS_NAMESPACE);
      await this.deployments.appOf(deploymentId);
      socket.data.deploymentId = deploymentId;
    });
  }

  async handleConnection(socket: Socket<Record<string, never>, LogServerEvents>): Promise<void> {
    const { deploymentId, after } = socket.data as { deploymentId: string; after: number };
    const sub = this.logs.subscribeBuild(deploymentId, after, (lines) => socket.emit('build-lines', lines));
    socket.on('disconnect', () => sub.cancel());
    await sub.ready.catch((err: unknown) => {
      this.logger.warn({ err, deploymentId, msg: 'could not stream build output to a client' });
      socket.disconnect(true);
    });
  }
}
