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
import { localRoutesOf, type AppRoute } from './routes';
import { RoutesModel, touchedBy } from './routes-model';
import { RoutesRepository } from './routes.repository';
import { renderProxyConfig, renderWorkerConfig, type RenderedConfig } from './traefik-config';

/** Apps run under this domain when BERTH_BASE_DOMAIN is unset: `<app>.localhost` reaches 127.0.0.1 in browsers. */
export const DEFAULT_BASE_DOMAIN = 'localhost';

const ROUTE_EVENTS: ReadonlySet<string> = new Set(ROUTE_EVENT_TYPES);
const EMPTY_WORKER_CONFIG = renderWorkerConfig([], '', DEFAULT_BASE_DOMAIN);
const PROXY_KEY = 'proxy';
const workerKey = (id: string) => `worker:${id}`;

/**
 * The routes, as the proxies want them. The routing read model is held in memory (RoutesModel): loaded
 * whole at start, then, after each batch of route-affecting events has been projected, the apps and
 * workers it touched are re-read from the tables. Bodies are rendered from memory and cached until the
 * next such batch. Every replica follows the event log, so a change written through any replica
 * reaches every replica's model and cache; a poll in between costs no query, a render no query either.
 * (Its own subscription rather than an everyReplica reaction: a failed batch is retried on the same
 * events, never skipped, since a skipped one would serve an old route until that app changed again.)
 */
@Injectable()
export class RoutesService implements OnModuleInit, OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('routing');
  private readonly cache = new RenderCache<RenderedConfig>();
  /** Set once loaded (background work on); without it each render queries the tables. */
  private model?: RoutesModel;
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
    // Events up to the starting point are not the subscription's: they must be in the tables before
    // the model is loaded (the HTTP server listens only after bootstrap). The subscription's first
    // batch waits for this load, so it never overwrites newer rows with the load's older ones.
    const loaded = this.projections.waitFor(from, 30_000).then(async () => {
      const model = new RoutesModel();
      model.load(await this.repository.allRoutes());
      this.model = model;
      this.cache.invalidate();
    });
    this.subscription = this.store.subscribe(
      from,
      async (events) => {
        const last = events[events.length - 1];
        await this.projections.waitFor({ transactionId: last.transactionId, position: last.position }, 30_000);
        await loaded;
        const touched = touchedBy(events);
        const routes = await this.repository.routesOf(touched);
        this.model?.replace(touched.appIds, touched.workerIds, routes);
        this.cache.invalidate();
        for (const listener of this.listeners) listener();
      },
      { filter: (type) => ROUTE_EVENTS.has(type), logger: structuredLogger(this.logger) },
    );
    await loaded;
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
    return this.cache.get(workerKey(id), async () => renderWorkerConfig(await this.routesOfWorker(id), id, this.baseDomain));
  }

  /** workerConfig's body if it is rendered and current already, without waiting or rendering. */
  renderedWorkerConfig(workerId: string | undefined): RenderedConfig | undefined {
    return isUuid(workerId) ? this.cache.peek(workerKey(workerId.toLowerCase())) : EMPTY_WORKER_CONFIG;
  }

  /** proxyConfig's body if it is rendered and current already, without waiting or rendering. */
  renderedProxyConfig(): RenderedConfig | undefined {
    return this.cache.peek(PROXY_KEY);
  }

  /** Edge Traefik's body: verified custom domains of every app. */
  proxyConfig(): Promise<RenderedConfig> {
    return this.cache.get(PROXY_KEY, async () =>
      renderProxyConfig(this.model ? this.model.routesWithVerifiedDomains() : await this.repository.routesWithVerifiedDomains(), this.config.traefikCertResolver),
    );
  }

  /** What a worker's local proxy (Caddy) serves: zone hosts and verified custom domains of its apps. */
  async workerRoutes(workerId: string): Promise<WorkerRoute[]> {
    if (!isUuid(workerId)) return [];
    return localRoutesOf(await this.routesOfWorker(workerId.toLowerCase()), this.baseDomain);
  }

  private async routesOfWorker(workerId: string): Promise<AppRoute[]> {
    return this.model ? this.model.routesOfWorker(workerId) : this.repository.routesOfWorker(workerId, { withDomains: true });
  }
}
