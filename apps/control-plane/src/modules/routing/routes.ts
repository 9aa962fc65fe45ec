/**
 * What the routes read model says about one app, and the hosts each proxy serves for it. Pure.
 */
import type { WorkerRoute } from '@berth/contracts';

/** One routed app: where its current container listens, and its verified custom domains. */
export interface AppRoute {
  appId: string;
  appName: string;
  /** The app's zone (its spec); null: the app is routed directly under the base domain. */
  zone: string | null;
  workerId: string;
  hostPort: number;
  /** The worker's advertise address (the edge proxy reaches the port there); null until it said hello. */
  advertiseIp: string | null;
  /** Verified custom domains, sorted. */
  domains: string[];
}

/** The zone subdomain every running app gets: `<app>.<zone>.<base>`, or `<app>.<base>` without a zone. */
export function zoneHostname(appName: string, zone: string | null, baseDomain: string): string {
  return zone ? `${appName}.${zone}.${baseDomain}` : `${appName}.${baseDomain}`;
}

/** The routes a worker's local proxy serves: each app's zone host and verified domains, sorted by id. */
export function localRoutesOf(routes: readonly AppRoute[], baseDomain: string): WorkerRoute[] {
  return routes
    .map((r) => ({ id: r.appId, hosts: [...new Set([zoneHostname(r.appName, r.zone, baseDomain), ...r.domains])].sort(), upstreamPort: r.hostPort }))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
