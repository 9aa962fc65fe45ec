import type { ControlPlaneConfig } from '@berth/config';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { RoutesService } from './routes.service';
import type { RenderedConfig } from './traefik-config';
import { etagMatches, TraefikNotModified } from './traefik-not-modified';
import { TraefikTokenGuard } from './traefik-token.guard';

const WORKER = '6f1c1a8e-3b0a-4c4e-9d1e-2f9c8a7b6d5e';
const proxy: RenderedConfig = { body: '{"proxy":1}', etag: '"p1"' };
const worker: RenderedConfig = { body: '{"worker":1}', etag: '"w1"' };
const auth = { authorization: 'Bearer secret' };

/** A bare HTTP server whose own listener records what reaches it, with the early 304 installed in front. */
async function serve(rendered: { proxy?: RenderedConfig; worker?: RenderedConfig }) {
  const routes = {
    renderedProxyConfig: () => rendered.proxy,
    renderedWorkerConfig: (id: string | undefined) => (id === WORKER ? rendered.worker : undefined),
  } as unknown as RoutesService;
  const token = new TraefikTokenGuard({ traefikToken: 'secret' } as ControlPlaneConfig);
  const reached: string[] = [];
  const server = http.createServer((req, res) => {
    reached.push(`${req.method} ${req.url}`);
    res.writeHead(299).end();
  });
  new TraefikNotModified(routes, token).installOn(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const get = (path: string, headers: Record<string, string> = {}, method = 'GET') => fetch(base + path, { method, headers });
  return { reached, get };
}

const servers: http.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

describe('TraefikNotModified', () => {
  it('answers a matching poll with the right token itself: 304, its ETag, no body, nothing reaches the other listeners', async () => {
    const s = await serve({ proxy, worker });
    for (const [path, etag] of [['/v1/traefik/proxy-config', proxy.etag], [`/v1/traefik/config?worker_id=${WORKER}`, worker.etag]]) {
      const res = await s.get(path, { ...auth, 'if-none-match': etag });
      expect(res.status).toBe(304);
      expect(res.headers.get('etag')).toBe(etag);
      expect(res.headers.get('cache-control')).toBe('no-cache');
      expect(await res.text()).toBe('');
    }
    expect(s.reached).toEqual([]);
  });

  it('passes on, untouched, everything it cannot answer with a 304', async () => {
    const s = await serve({ proxy, worker: undefined });
    const cases: [string, Record<string, string>, string?][] = [
      ['/v1/traefik/proxy-config', auth],
      ['/v1/traefik/proxy-config', { ...auth, 'if-none-match': '"stale"' }],
      ['/v1/traefik/proxy-config', { 'if-none-match': proxy.etag }],
      ['/v1/traefik/proxy-config', { authorization: 'Bearer wrong', 'if-none-match': proxy.etag }],
      ['/v1/traefik/proxy-config', { ...auth, 'if-none-match': proxy.etag }, 'HEAD'],
      [`/v1/traefik/config?worker_id=${WORKER}`, { ...auth, 'if-none-match': worker.etag }],
      ['/api/apps', { ...auth, 'if-none-match': proxy.etag }],
    ];
    for (const [path, headers, method] of cases) expect((await s.get(path, headers, method)).status).toBe(299);
    expect(s.reached).toEqual([
      'GET /v1/traefik/proxy-config',
      'GET /v1/traefik/proxy-config',
      'GET /v1/traefik/proxy-config',
      'GET /v1/traefik/proxy-config',
      'HEAD /v1/traefik/proxy-config',
      `GET /v1/traefik/config?worker_id=${WORKER}`,
      'GET /api/apps',
    ]);
  });

  it('compares If-None-Match as lists, weak forms and * included', () => {
    expect(etagMatches('"a", W/"p1"', '"p1"')).toBe(true);
    expect(etagMatches('*', '"p1"')).toBe(true);
    expect(etagMatches('"a", "b"', '"p1"')).toBe(false);
    expect(etagMatches(undefined, '"p1"')).toBe(false);
  });
});
