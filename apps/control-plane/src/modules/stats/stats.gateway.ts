import { Logger } from '@nestjs/common';
import { OnGatewayConnection, OnGatewayInit, WebSocketGateway } from '@nestjs/websockets';
import type { AppStatsView } from '@berth/contracts';
import type { Namespace, Socket } from 'socket.io';
import { notFound } from '../../common/errors';
import { guardHandshake, namespaceParam, requireApiToken } from '../../common/ws-handshake';
import { AppsService } from '../apps/apps.service';
import { AuthService } from '../auth/auth.service';
import { StatsService } from './stats.service';
import type { UsageView } from './usage-aggregate';

/** Server -> client events of the stats namespaces. */
export interface StatsServerEvents {
  stats: (view: AppStatsView) => void;
  usage: (usage: UsageView) => void;
}

export const APP_STATS_NAMESPACE = /^\/api\/apps\/([^/]+)\/ws\/stats$/;
export const USAGE_NAMESPACE = '/api/ws/usage';

/**
 * `/api/apps/:id/ws/stats`: the app's current view on connect, then each new snapshot as it arrives
 * (and live=false when it expires). Pushed from StatsService.subscribeStats; nothing polls.
 */
@WebSocketGateway({ namespace: APP_STATS_NAMESPACE })
export class AppStatsGateway implements OnGatewayInit<Namespace>, OnGatewayConnection<Socket> {
  private readonly logger = new Logger('stats-gateway');

  constructor(
    private readonly stats: StatsService,
    private readonly auth: AuthService,
    private readonly apps: AppsService,
  ) {}

  afterInit(namespace: Namespace): void {
    guardHandshake(namespace, async (socket) => {
      await requireApiToken(this.auth, socket);
      const appId = namespaceParam(socket, APP_STATS_NAMESPACE);
      if (!(await this.apps.exists(appId))) throw notFound('app', appId);
      socket.data.appId = appId;
    });
  }

  handleConnection(socket: Socket<Record<string, never>, StatsServerEvents>): void {
    const appId = socket.data.appId as string;
    const { stream, cancel } = this.stats.subscribeStats(appId);
    socket.on('disconnect', cancel);
    socket.emit('stats', this.stats.store.get(appId));
    void (async () => {
      for await (const view of stream) socket.emit('stats', view);
    })().catch((err: unknown) => this.logger.warn({ err, appId, msg: 'stopped pushing stats to a client' }));
  }
}

/** `/api/ws/usage`: the aggregate over every app the caller may see (an API token sees all), pushed on change. */
@WebSocketGateway({ namespace: USAGE_NAMESPACE })
export class UsageGateway implements OnGatewayInit<Namespace>, OnGatewayConnection<Socket> {
  constructor(
    private readonly stats: StatsService,
    private readonly auth: AuthService,
  ) {}

  afterInit(namespace: Namespace): void {
    guardHandshake(namespace, async (socket) => void (await requireApiToken(this.auth, socket)));
  }

  handleConnection(socket: Socket<Record<string, never>, StatsServerEvents>): void {
    const stop = this.stats.onUsage((usage) => socket.emit('usage', usage));
    socket.on('disconnect', stop);
    socket.emit('usage', this.stats.usage());
  }
}
