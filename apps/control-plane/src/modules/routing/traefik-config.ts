/**
 * The two Traefik HTTP-provider bodies (seed section 8), rendered deterministically from the routes
 * read model: routers and services sorted by name, keys in a fixed order, so the same routes always
 * give the same bytes and the same ETag. Pure: no framework, no I/O.
 */
import { createHash } from 'node:crypto';
import { isRoutableHostname } from '@berth/core';
import { zoneHostname, type AppRoute } from './routes';

export interface RenderedConfig {
  body: string;
  /** The quoted SHA-256 hex of the body. */
  etag: string;
}

/** One router and its service of the same name, as they appear in the body. */
interface Entry {
  name: string;
  rule: string;
  url: string;
  certResolver?: string;
}

/** Whether a hostname is safe inside Host(`…`): the one rule of @berth/core, shared with the agent's Caddy. */
export const isSafeRuleHost = isRoutableHostname;

/**
 * `Host(\`a\`) || Host(\`b\`)` for the hosts, deduplicated and sorted. Throws on a host that is not a
 * plain lowercase DNS name: nothing that could close the matcher ever reaches a rule.
 */
export function buildHostRule(hosts: readonly string[]): string {
  if (hosts.length === 0) throw new RangeError('a host rule needs at least one host');
  for (const h of hosts) {
    if (!isSafeRuleHost(h)) throw new RangeError(`refusing to put ${JSON.stringify(h)} in a Host() rule: not a lowercase ASCII DNS name`);
  }
  const sorted = hosts.length === 1 ? hosts : [...new Set(hosts)].sort();
  return sorted.map((h) => `Host(\`${h}\`)`).join(' || ');
}

/**
 * An ASCII-safe router/service name: lowercase letters, digits and hyphens stay as they are; every
 * other character becomes `_<hex code point>_`. The escape is self-delimiting, so two different names
 * never give the same result (an app called "a.b" and one called "a_2e_b" stay apart).
 */
export function safeRouterName(name: string): string {
  if (PLAIN_NAME.test(name)) return name;
  let out = '';
  for (const ch of name) out += /[a-z0-9-]/.test(ch) ? ch : `_${ch.codePointAt(0)!.toString(16)}_`;
  return out === '' ? '_' : out;
}

const PLAIN_NAME = /^[a-z0-9-]+$/;

export function etagOf(body: string): string {
  return `"${createHash('sha256').update(body).digest('hex')}"`;
}

/** A JSON string literal; printable ASCII without quote or backslash needs no escaping. */
const PLAIN_JSON = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;
const str = (v: string) => (PLAIN_JSON.test(v) ? `"${v}"` : JSON.stringify(v));

/**
 * `{"http":{"routers":{…},"services":{…}}}` with entries sorted by name. Written as a string: for
 * 10,000 apps this is several times faster than building the object tree and JSON.stringify-ing it.
 */
function render(entries: Entry[]): RenderedConfig {
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const routers: string[] = [];
  const services: string[] = [];
  const tls = new Map<string, string>();
  for (const e of entries) {
    // Names (safeRouterName) and rules (buildHostRule) are plain ASCII by construction.
    const name = `"${e.name}"`;
    let tlsPart = '';
    if (e.certResolver !== undefined) {
      tlsPart = tls.get(e.certResolver) ?? `,"tls":{"certResolver":${str(e.certResolver)}}`;
      tls.set(e.certResolver, tlsPart);
    }
    routers.push(`${name}:{"rule":"${e.rule}","service":${name}${tlsPart}}`);
    services.push(`${name}:{"loadBalancer":{"servers":[{"url":${str(e.url)}}]}}`);
  }
  const body = `{"http":{"routers":{${routers.join(',')}},"services":{${services.join(',')}}}}`;
  return { body, etag: etagOf(body) };
}

/**
 * Worker Traefik (`/v1/traefik/config?worker_id=`): each app running on the worker, by its zone
 * subdomain, to `http://127.0.0.1:<port>`. Routes on other workers are ignored.
 */
export function renderWorkerConfig(routes: readonly AppRoute[], workerId: string, baseDomain: string): RenderedConfig {
  const entries: Entry[] = [];
  for (const r of routes) {
    if (r.workerId !== workerId) continue;
    const host = zoneHostname(r.appName, r.zone, baseDomain);
    if (!isSafeRuleHost(host)) continue;
    entries.push({ name: safeRouterName(r.appName), rule: buildHostRule([host]), url: `http://127.0.0.1:${r.hostPort}` });
  }
  return render(entries);
}

/**
 * Edge Traefik (`/v1/traefik/proxy-config`): each app's verified custom domains, to
 * `http://<worker advertise address>:<port>`, with TLS from the certificate resolver. Apps without a
 * verified domain, or whose worker has not told its address, are left out.
 */
export function renderProxyConfig(routes: readonly AppRoute[], certResolver: string): RenderedConfig {
  const entries: Entry[] = [];
  for (const r of routes) {
    if (!r.advertiseIp) continue;
    const hosts = r.domains.length === 1 ? (isSafeRuleHost(r.domains[0]) ? r.domains : []) : r.domains.filter(isSafeRuleHost);
    if (hosts.length === 0) continue;
    entries.push({ name: safeRouterName(r.appName), rule: buildHostRule(hosts), url: `http://${hostForUrl(r.advertiseIp)}:${r.hostPort}`, certResolver });
  }
  return render(entries);
}

/** An IPv6 address goes in brackets inside a URL. */
function hostForUrl(address: string): string {
  return address.includes(':') && !address.startsWith('[') ? `[${address}]` : address;
}
