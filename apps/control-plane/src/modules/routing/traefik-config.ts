/**
 * The two Traefik HTTP-provider bodies (seed section 8), rendered deterministically from the routes
 * read model: routers and services sorted by name, keys in a fixed order, so the same routes always
 * give the same bytes and the same ETag. Pure: no framework, no I/O.
 */
import { createHash } from 'node:crypto';
import { zoneHostname, type AppRoute } from './routes';

export interface RenderedConfig {
  body: string;
  /** The quoted SHA-256 hex of the body. */
  etag: string;
}

interface TraefikRouter {
  rule: string;
  service: string;
  tls?: { certResolver: string };
}

interface TraefikService {
  loadBalancer: { servers: { url: string }[] };
}

/** An ASCII hostname that is safe inside Host(`…`): RFC 1123 labels, lowercase, at most 253 characters. */
const SAFE_RULE_HOST = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$/;

export function isSafeRuleHost(host: string): boolean {
  return SAFE_RULE_HOST.test(host);
}

/**
 * `Host(\`a\`) || Host(\`b\`)` for the hosts, deduplicated and sorted. Throws on a host that is not a
 * plain lowercase DNS name: nothing that could close the matcher ever reaches a rule.
 */
export function buildHostRule(hosts: readonly string[]): string {
  if (hosts.length === 0) throw new RangeError('a host rule needs at least one host');
  for (const h of hosts) {
    if (!isSafeRuleHost(h)) throw new RangeError(`refusing to put ${JSON.stringify(h)} in a Host() rule: not a lowercase ASCII DNS name`);
  }
  return [...new Set(hosts)]
    .sort()
    .map((h) => `Host(\`${h}\`)`)
    .join(' || ');
}

/**
 * An ASCII-safe router/service name: lowercase letters, digits and hyphens stay as they are; every
 * other character becomes `_<hex code point>_`. The escape is self-delimiting, so two different names
 * never give the same result (an app called "a.b" and one called "a_2e_b" stay apart).
 */
export function safeRouterName(name: string): string {
  let out = '';
  for (const ch of name) out += /[a-z0-9-]/.test(ch) ? ch : `_${ch.codePointAt(0)!.toString(16)}_`;
  return out === '' ? '_' : out;
}

export function etagOf(body: string): string {
  return `"${createHash('sha256').update(body).digest('hex')}"`;
}

function render(routers: [string, TraefikRouter][], services: [string, TraefikService][]): RenderedConfig {
  const byName = <T>(entries: [string, T][]) => Object.fromEntries(entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const body = JSON.stringify({ http: { routers: byName(routers), services: byName(services) } });
  return { body, etag: etagOf(body) };
}

/**
 * Worker Traefik (`/v1/traefik/config?worker_id=`): each app running on the worker, by its zone
 * subdomain, to `http://127.0.0.1:<port>`. Routes on other workers are ignored.
 */
export function renderWorkerConfig(routes: readonly AppRoute[], workerId: string, baseDomain: string): RenderedConfig {
  const routers: [string, TraefikRouter][] = [];
  const services: [string, TraefikService][] = [];
  for (const r of routes) {
    if (r.workerId !== workerId) continue;
    const host = zoneHostname(r.appName, r.zone, baseDomain);
    if (!isSafeRuleHost(host)) continue;
    const name = safeRouterName(r.appName);
    routers.push([name, { rule: buildHostRule([host]), service: name }]);
    services.push([name, { loadBalancer: { servers: [{ url: `http://127.0.0.1:${r.hostPort}` }] } }]);
  }
  return render(routers, services);
}

/**
 * Edge Traefik (`/v1/traefik/proxy-config`): each app's verified custom domains, to
 * `http://<worker advertise address>:<port>`, with TLS from the certificate resolver. Apps without a
 * verified domain, or whose worker has not told its address, are left out.
 */
export function renderProxyConfig(routes: readonly AppRoute[], certResolver: string): RenderedConfig {
  const routers: [string, TraefikRouter][] = [];
  const services: [string, TraefikService][] = [];
  for (const r of routes) {
    const hosts = r.domains.filter(isSafeRuleHost);
    if (hosts.length === 0 || !r.advertiseIp) continue;
    const name = safeRouterName(r.appName);
    routers.push([name, { rule: buildHostRule(hosts), service: name, tls: { certResolver } }]);
    services.push([name, { loadBalancer: { servers: [{ url: `http://${hostForUrl(r.advertiseIp)}:${r.hostPort}` }] } }]);
  }
  return render(routers, services);
}

/** An IPv6 address goes in brackets inside a URL. */
function hostForUrl(address: string): string {
  return address.includes(':') && !address.startsWith('[') ? `[${address}]` : address;
}
