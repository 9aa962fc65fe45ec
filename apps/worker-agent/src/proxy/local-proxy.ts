/**
 * The proxy in front of this worker's apps, as BERTH_PROXY chose it. `caddy`: the agent keeps a local
 * Caddy equal to the routes the control plane sends. `traefik`: Traefik polls the control plane by
 * itself, and `none`: nothing routes; for both the agent has nothing to do with the routes.
 */
import type { AgentProxyConfig } from '@berth/config';
import type { WorkerRoute } from '@berth/contracts';
import { systemClock, type Logger } from '@berth/core';
import { CaddyAdmin } from './caddy-admin';
import { RoutesSync } from './routes-sync';

export interface LocalProxy {
  /** The complete routes of this worker (replacing the previous ones). */
  setRoutes(routes: readonly WorkerRoute[]): Promise<void>;
  stop(): Promise<void>;
}

export function createLocalProxy(config: AgentProxyConfig | undefined, logger: Logger): LocalProxy | undefined {
  if (config?.kind !== 'caddy') return undefined;
  const admin = new URL(config.caddyAdminUrl);
  const sync = new RoutesSync({
    admin: new CaddyAdmin(config.caddyAdminUrl),
    caddy: { adminListen: admin.host, httpListen: config.caddyHttpListen, httpsListen: config.caddyHttpsListen, tls: config.caddyTls },
    clock: systemClock,
    logger,
  });
  sync.start();
  return {
    async setRoutes(routes) {
      await sync.set(routes);
      if (!sync.upToDate) throw new Error(`Caddy at ${config.caddyAdminUrl} did not take the routes yet; the agent keeps trying`);
    },
    stop: () => sync.stop(),
  };
}
