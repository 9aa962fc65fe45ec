/**
 * The whole Caddy configuration for a worker's routes (JSON, as Caddy's admin API loads it), built by
 * a pure function: each route's hosts to 127.0.0.1:<port>, anything else 404. `internal` TLS (Caddy's
 * own CA: tests, private networks) also serves the routes over plain HTTP; `acme` (public certificates)
 * redirects plain HTTP to HTTPS.
 */
import { createHash } from 'node:crypto';
import type { WorkerRoute } from '@berth/contracts';
import { isRoutableHostname } from '@berth/core';

export interface CaddyOptions {
  /** host:port of Caddy's admin API. Every load names it, or Caddy would move its admin listener. */
  adminListen: string;
  /** Where plain HTTP is served, e.g. ':80' or '127.0.0.1:8080'. */
  httpListen: string;
  /** Where HTTPS is served, e.g. ':443' or '127.0.0.1:8443'. */
  httpsListen: string;
  tls: 'internal' | 'acme';
  /** Caddy's storage (certificates); default: Caddy's own. */
  storageDir?: string;
}

const portOf = (listen: string): number => Number(listen.slice(listen.lastIndexOf(':') + 1));

/** The routes kept: hosts filtered to safe names, ports in range, sorted by id; routes left without a host dropped. */
export function sanitiseRoutes(routes: readonly WorkerRoute[]): WorkerRoute[] {
  return routes
    .map((r) => ({ id: r.id, hosts: [...new Set(r.hosts.filter(isRoutableHostname))].sort(), upstreamPort: r.upstreamPort }))
    .filter((r) => r.hosts.length > 0 && Number.isInteger(r.upstreamPort) && r.upstreamPort > 0 && r.upstreamPort < 65536)
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** The `@id` Caddy's config carries for these routes: GET /id/<it> tells whether Caddy runs them. */
export function configId(routes: readonly WorkerRoute[], opts: CaddyOptions): string {
  return `berth-${createHash('sha256').update(JSON.stringify([sanitiseRoutes(routes), opts])).digest('hex').slice(0, 32)}`;
}

const notFound = { handle: [{ handler: 'static_response', status_code: 404, body: 'no app is routed at this host\n' }] };

export function buildCaddyConfig(routes: readonly WorkerRoute[], opts: CaddyOptions): Record<string, unknown> {
  const kept = sanitiseRoutes(routes);
  const appRoutes = kept.map((r) => ({
    match: [{ host: r.hosts }],
    handle: [{ handler: 'reverse_proxy', upstreams: [{ dial: `127.0.0.1:${r.upstreamPort}` }] }],
    terminal: true,
  }));
  const redirect = { handle: [{ handler: 'static_response', status_code: 308, headers: { Location: ['https://{http.request.host}{http.request.uri}'] } }] };
  const subjects = kept.flatMap((r) => r.hosts);
  return {
    admin: { listen: opts.adminListen },
    ...(opts.storageDir ? { storage: { module: 'file_system', root: opts.storageDir } } : {}),
    apps: {
      http: {
        http_port: portOf(opts.httpListen),
        https_port: portOf(opts.httpsListen),
        servers: {
          berth_https: {
            '@id': configId(routes, opts),
            listen: [opts.httpsListen],
            routes: [...appRoutes, notFound],
            automatic_https: { disable_redirects: true },
          },
          berth_http: {
            listen: [opts.httpListen],
            routes: opts.tls === 'internal' ? [...appRoutes, notFound] : [redirect],
          },
        },
      },
      ...(opts.tls === 'internal' && subjects.length > 0
        ? {
            tls: { automation: { policies: [{ subjects, issuers: [{ module: 'internal' }] }] } },
            pki: { certificate_authorities: { local: { install_trust: false } } },
          }
        : {}),
    },
  };
}
