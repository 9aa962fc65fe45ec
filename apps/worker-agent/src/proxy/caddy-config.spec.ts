import { describe, expect, it } from 'vitest';
import { buildCaddyConfig, configId, sanitiseRoutes, type CaddyOptions } from './caddy-config';

const opts: CaddyOptions = { adminListen: '127.0.0.1:2019', httpListen: ':80', httpsListen: ':443', tls: 'acme' };
const routes = [
  { id: 'b', hosts: ['blog.example.com'], upstreamPort: 32002 },
  { id: 'a', hosts: ['shop.example.com', 'shop.de.berth.example', 'shop.example.com'], upstreamPort: 32001 },
];

describe('buildCaddyConfig', () => {
  it('given acme: HTTPS routes each host set to 127.0.0.1:<port>, plain HTTP redirects, the admin listener is kept', () => {
    const config = buildCaddyConfig(routes, opts) as any;
    expect(config.admin).toEqual({ listen: '127.0.0.1:2019' });
    const https = config.apps.http.servers.berth_https;
    expect(https.listen).toEqual([':443']);
    expect(https.routes.slice(0, 2)).toEqual([
      { match: [{ host: ['shop.de.berth.example', 'shop.example.com'] }], handle: [{ handler: 'reverse_proxy', upstreams: [{ dial: '127.0.0.1:32001' }] }], terminal: true },
      { match: [{ host: ['blog.example.com'] }], handle: [{ handler: 'reverse_proxy', upstreams: [{ dial: '127.0.0.1:32002' }] }], terminal: true },
    ]);
    expect(https.routes[2].handle[0].status_code).toBe(404);
    expect(config.apps.http.servers.berth_http.routes[0].handle[0].status_code).toBe(308);
    expect(config.apps.tls).toBeUndefined();
  });

  it('given internal TLS: an internal issuer for the hosts, no trust-store install, and the routes over plain HTTP too', () => {
    const config = buildCaddyConfig(routes, { ...opts, tls: 'internal' }) as any;
    expect(config.apps.tls.automation.policies).toEqual([{ subjects: ['shop.de.berth.example', 'shop.example.com', 'blog.example.com'], issuers: [{ module: 'internal' }] }]);
    expect(config.apps.pki.certificate_authorities.local.install_trust).toBe(false);
    expect(config.apps.http.servers.berth_http.routes).toEqual(config.apps.http.servers.berth_https.routes);
  });

  it('the configuration id depends on the routes, not on their order', () => {
    expect(configId([...routes].reverse(), opts)).toBe(configId(routes, opts));
    expect(configId([{ ...routes[0], upstreamPort: 1 }], opts)).not.toBe(configId(routes, opts));
  });

  it('drops hosts that are not lowercase ASCII DNS names, and routes left without any', () => {
    expect(sanitiseRoutes([{ id: 'x', hosts: ['a.com`) || Host(`b.com', 'A.com', '*.a.com', 'a..com'], upstreamPort: 1 }, { id: 'y', hosts: ['ok.com'], upstreamPort: 0 }])).toEqual([]);
  });
});
