/**
 * Keeps a local Caddy serving exactly the worker's routes. set() takes the complete list (as the control
 * plane sends it, on every change and after each hello) and loads the configuration built from it;
 * loads never overlap and the newest list wins. A periodic check reloads Caddy when it no longer runs
 * that configuration (it restarted, someone changed it), and a failed load is retried with backoff.
 */
import type { WorkerRoute } from '@berth/contracts';
import type { Clock, Logger, TimerHandle } from '@berth/core';
import type { CaddyAdmin } from './caddy-admin';
import { buildCaddyConfig, configId, sanitiseRoutes, type CaddyOptions } from './caddy-config';

export interface RoutesSyncOptions {
  admin: Pick<CaddyAdmin, 'load' | 'has'>;
  caddy: CaddyOptions;
  clock: Clock;
  logger: Logger;
  /** How often Caddy's configuration is checked against the routes; default 5 s. */
  checkIntervalMs?: number;
  /** First retry after a failed load; doubles up to checkIntervalMs. Default 250 ms. */
  retryMinMs?: number;
}

export class RoutesSync {
  private desired?: WorkerRoute[];
  /** The @id of the configuration Caddy was last seen running. */
  private loaded?: string;
  private running?: Promise<void>;
  private again = false;
  private failures = 0;
  private retryTimer?: TimerHandle;
  private checkTimer?: TimerHandle;
  private stopped = false;
  private readonly checkIntervalMs: number;

  constructor(private readonly opts: RoutesSyncOptions) {
    this.checkIntervalMs = opts.checkIntervalMs ?? 5000;
  }

  start(): void {
    this.checkTimer = this.opts.clock.setInterval(() => void this.sync(true), this.checkIntervalMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.opts.clock.clearInterval(this.checkTimer);
    this.opts.clock.clearTimeout(this.retryTimer);
    await this.running;
  }

  /** The routes Caddy must serve from now on. Resolves once a load of them (or of newer ones) was tried. */
  set(routes: readonly WorkerRoute[]): Promise<void> {
    this.desired = sanitiseRoutes(routes);
    return this.sync(false);
  }

  /** Whether Caddy was last seen running the newest routes. */
  get upToDate(): boolean {
    return this.desired !== undefined && this.loaded === configId(this.desired, this.opts.caddy);
  }

  /** Resolves when no load is running or queued (for tests). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private sync(check: boolean): Promise<void> {
    if (this.stopped || !this.desired) return Promise.resolve();
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.run(check).finally(() => (this.running = undefined));
    return this.running;
  }

  private async run(check: boolean): Promise<void> {
    let verify = check;
    do {
      this.again = false;
      const routes = this.desired!;
      const id = configId(routes, this.opts.caddy);
      try {
        const current = id === this.loaded && (!verify || (await this.opts.admin.has(id)));
        if (!current) {
          await this.opts.admin.load(buildCaddyConfig(routes, this.opts.caddy));
          this.opts.logger.info({ routes: routes.length, hosts: routes.reduce((n, r) => n + r.hosts.length, 0) }, 'Caddy configuration loaded');
        }
        this.loaded = id;
        this.failures = 0;
      } catch (err) {
        this.loaded = undefined;
        const retryInMs = Math.min(this.checkIntervalMs, (this.opts.retryMinMs ?? 250) * 2 ** this.failures++);
        this.opts.logger.warn({ err: (err as Error).message, retryInMs }, 'could not load the routes into Caddy; retrying');
        this.opts.clock.clearTimeout(this.retryTimer);
        this.retryTimer = this.opts.clock.setTimeout(() => void this.sync(false), retryInMs);
        return;
      }
      verify = false;
    } while (this.again && !this.stopped);
  }
}
