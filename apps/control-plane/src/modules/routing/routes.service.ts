import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type { ControlPlaneConfig } from '@berth/config';
import type { WorkerRoute } from '@berth/contracts';
import { isUuid } from '@berth/core';
import { EventStore, type Subscription } from '@berth/event-store';
import { BACKGROUND_OPTIONS, type BackgroundOptions } from '../../common/background.options';
import { CONTROL_PLANE_CONFIG } from '../../config/config.module';
import { Projections } from '../../database/projections.service';
import { structuredLogger } from '../../common/structured-logger';
import { ROUTE_EVENT_TYPES, routesProjector } from './projections/routes.projector';
import { RenderCache } from './render-cache';
import { localRoutesOf } from './routes';
import { RoutesRepository } from './routes.repository';
import { renderProxyConfig, renderWorkerConfig, type RenderedConfig } from './traefik-config';

/** Apps run under this domain when BERTH_BASE_DOMAIN is unset: `<app>.localhost` reaches 127.0.0.1 in browsers. */
export const DEFAULT_BASE_DOMAIN = 'localhost';

const ROUTE_EVENTS: ReadonlySet<string> = new Set(ROUTE_EVENT_TYPES);
const EMPTY_WORKER_CONFIG = renderWorkerConfig([], '', DEFAULT_BASE_DOMAIN);

/**
 * The routes, as the proxies want them. Bodies are rendered from the routing read model and cached
 * until a route-affecting event has been projected: every replica follows the event log, so a change
 * written through any replica invalidates every replica's cache, and a poll in between costs no query.
 * (Its own subscription rather than an everyReplica reaction: a failed wait is retried on the same
 * events, never skipped, since a skipped invalidation would serve an old body until the next change.)
 */
@Injectable()
export class RoutesService implements OnModuleInit, OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('routing');
  private readonly cache = new RenderCache<RenderedConfig>();
  private readonly listeners: (() => void)[] = [];
  private subscription?: Subscription;
  readonly baseDomain: string;

  constructor(
    private readonly repository: RoutesRepository,
    private readonly store: EventStore,
    private readonly projections: Projections,
    @Inject(CONTROL_PLANE_CONFIG) private readonly config: ControlPlaneConfig,
    @Inject(BACKGROUND_OPTIONS) private readonly background: BackgroundOptions,
  ) {
    this.baseDomain = config.baseDomain ?? DEFAULT_BASE_DOMAIN;
  }

  onModuleInit(): void {
    this.projections.register(routesProjector);
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.background.runBackgroundWork) return;
    const from = await this.store.headCursor();
    this.subscription = this.store.subscribe(
      from,
      async (events) => {
        const last = events[events.length - 1];
        await this.projections.waitFor({ transactionId: last.transactionId, position: last.position }, 30_000);
        this.cache.invalidate();
        for (const listener of this.listeners) listener();
      },
      { filter: (type) => ROUTE_EVENTS.has(type), logger: structuredLogger(this.logger) },
    );
    // Events up to the starting point are not the subscription's: they must be in the tables before
    // the first body is rendered (the HTTP server listens only after bootstrap).
    await this.projections.waitFor(from, 30_000);
    this.cache.invalidate();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.subscription?.stop();
  }

  /** Calls `listener` after each projected route change (on this replica's view of the log). */
  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** Worker Traefik's body. A malformed or unknown worker id gets an empty, valid configuration. */
  workerConfig(workerId: string | undefined): Promise<RenderedConfig> {
    if (!isUuid(workerId)) return Promise.resolve(EMPTY_WORKER_CONFIG);
    const id = workerId.toLowerCase();
    return this.cache.get(`worker:${id}`, async () =>
      renderWorkerConfig(await this.repository.routesOfWorker(id, { withDomains: false }), id, this.baseDomain),
    );
  }

  /** Edge Traefik's body: verified custom domains of every app. */
  proxyConfig(): Promise<RenderedConfig> {
    return this.cache.get('proxy', async () => renderProxyConfig(await this.repository.routesWithVerifiedDomains(), this.config.traefikCertResolver));
  }

  /** What a worker's local proxy (Caddy) serves: zone hosts and verified custom domains of its apps. */
  async workerRoutes(workerId: string): Promise<WorkerRoute[]> {
    if (!isUuid(workerId)) return [];
    return localRoutesOf(await this.repository.routesOfWorker(workerId.toLowerCase(), { withDomains: true }), this.baseDomain);
  }
}
