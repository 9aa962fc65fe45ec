/**
 * The Traefik HTTP-provider endpoints against real PostgreSQL: bodies rendered from the routes read
 * model, valid against Traefik's schema, ETag / If-None-Match / 304, the static bearer token, and a
 * change written through one replica reaching another replica's cached body.
 */
import { EventStore } from '@berth/event-store';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { traefikSchemaErrors } from '../apps/control-plane/src/modules/routing/traefik-schema.testing';
import { startControlPlane, type RunningControlPlane } from './support/control-plane';
import { createTestDatabase, type TestDatabase } from './support/database';
import { eventually } from './support/processes';
import { appEvents, appendFleet, deploymentEvents, domainEvents, type FleetApp, type FleetWorker } from './support/routing-fleet';

const TOKEN = 'traefik-test-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };

const workers: FleetWorker[] = [
  { id: randomUUID(), zone: 'de', advertiseIp: '10.8.0.1' },
  { id: randomUUID(), zone: 'us', advertiseIp: '10.8.0.2' },
  { id: randomUUID(), advertiseIp: '10.8.0.3' },
];
const apps: FleetApp[] = [
  { id: randomUUID(), name: 'shop', zone: 'de', workerId: workers[0].id, hostPort: 31001, domains: [{ id: randomUUID(), hostname: 'shop.example.com', verified: true }, { id: randomUUID(), hostname: 'www.shop.example.com', verified: true }] },
  { id: randomUUID(), name: 'blog', zone: 'de', workerId: workers[0].id, hostPort: 31002, domains: [{ id: randomUUID(), hostname: 'blog.example.com', verified: false }] },
  { id: randomUUID(), name: 'status', zone: 'us', workerId: workers[1].id, hostPort: 31003, domains: [{ id: randomUUID(), hostname: 'status.example.org', verified: true }] },
  { id: randomUUID(), name: 'hello', workerId: workers[2].id, hostPort: 31004 },
];

describe('Traefik HTTP-provider endpoints', () => {
  let db: TestDatabase;
  let cp: RunningControlPlane;
  let replica: RunningControlPlane;
  let store: EventStore;

  const get = (target: RunningControlPlane, path: string, headers: Record<string, string> = auth) => fetch(target.url + path, { headers });
  const json = async (res: Response) => JSON.parse(await res.text());

  beforeAll(async () => {
    db = await createTestDatabase();
    cp = await startControlPlane(db.url, { traefikToken: TOKEN, baseDomain: 'berth.test' });
    replica = await startControlPlane(db.url, { traefikToken: TOKEN, baseDomain: 'berth.test' });
    store = cp.app.get(EventStore);
    await appendFleet(store, workers, apps);
    await eventually('the fleet to be projected', async () => ((await (await get(cp, '/v1/traefik/proxy-config')).text()).includes('status.example.org') ? true : undefined));
  });
  afterAll(async () => {
    await replica?.close();
    await cp?.close();
    await db?.drop();
  });

  it('worker config: the zone-subdomain routes of that worker only, to 127.0.0.1, valid against the schema', async () => {
    const res = await get(cp, `/v1/traefik/config?worker_id=${workers[0].id}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const body = await res.text();
    expect(traefikSchemaErrors(body)).toBe('');
    expect(JSON.parse(body)).toEqual({
      http: {
        routers: { blog: { rule: 'Host(`blog.de.berth.test`)', service: 'blog' }, shop: { rule: 'Host(`shop.de.berth.test`)', service: 'shop' } },
        services: {
          blog: { loadBalancer: { servers: [{ url: 'http://127.0.0.1:31002' }] } },
          shop: { loadBalancer: { servers: [{ url: 'http://127.0.0.1:31001' }] } },
        },
      },
    });
    const unzoned = await json(await get(cp, `/v1/traefik/config?worker_id=${workers[2].id}`));
    expect(unzoned.http.routers).toEqual({ hello: { rule: 'Host(`hello.berth.test`)', service: 'hello' } });
  });

  it('proxy config: verified domains only, to the worker advertise address, with the certificate resolver', async () => {
    const body = await (await get(cp, '/v1/traefik/proxy-config')).text();
    expect(traefikSchemaErrors(body)).toBe('');
    expect(JSON.parse(body).http).toEqual({
      routers: {
        shop: { rule: 'Host(`shop.example.com`) || Host(`www.shop.example.com`)', service: 'shop', tls: { certResolver: 'letsencrypt' } },
        status: { rule: 'Host(`status.example.org`)', service: 'status', tls: { certResolver: 'letsencrypt' } },
      },
      services: {
        shop: { loadBalancer: { servers: [{ url: 'http://10.8.0.1:31001' }] } },
        status: { loadBalancer: { servers: [{ url: 'http://10.8.0.2:31003' }] } },
      },
    });
  });

  it.each([['an unknown worker', randomUUID()], ['a malformed worker id', "1' OR 1=1"], ['no worker id', undefined]])('%s gets an empty, valid configuration', async (_what, id) => {
    const res = await get(cp, `/v1/traefik/config${id === undefined ? '' : `?worker_id=${encodeURIComponent(id)}`}`);
    expect(res.status).toBe(200);
    const body = await res.text();
    expect(body).toBe('{"http":{"routers":{},"services":{}}}');
    expect(traefikSchemaErrors(body)).toBe('');
  });

  it('ETag is the quoted SHA-256 of the body; a matching If-None-Match gets 304 with no body; without it, always 200', async () => {
    for (const path of [`/v1/traefik/config?worker_id=${workers[1].id}`, '/v1/traefik/proxy-config']) {
      const first = await get(cp, path);
      const body = await first.text();
      const etag = first.headers.get('etag')!;
      const { createHash } = await import('node:crypto');
      expect(etag).toBe(`"${createHash('sha256').update(body).digest('hex')}"`);
      const again = await get(cp, path, { ...auth, 'if-none-match': etag });
      expect(again.status).toBe(304);
      expect(await again.text()).toBe('');
      const stale = await get(cp, path, { ...auth, 'if-none-match': '"0000"' });
      expect(stale.status).toBe(200);
      expect(await stale.text()).toBe(body);
      const plain = await get(cp, path);
      expect(plain.status).toBe(200);
      expect(await plain.text()).toBe(body);
    }
  });

  it('answers those 304s ahead of Express and Socket.IO, which still get every other request', async () => {
    const path = `/v1/traefik/config?worker_id=${workers[0].id}`;
    const full = await get(cp, path);
    expect(full.headers.get('x-powered-by')).toBe('Express');
    const notModified = await get(cp, path, { ...auth, 'if-none-match': full.headers.get('etag')! });
    expect(notModified.status).toBe(304);
    expect(notModified.headers.get('x-powered-by')).toBeNull();
    const handshake = await fetch(`${cp.url}/socket.io/?EIO=4&transport=polling`);
    expect(handshake.status).toBe(200);
    expect(await handshake.text()).toMatch(/^0\{"sid":/);
  });

  it.each([
    ['no token', {}, /missing Authorization header/],
    ['a wrong token', { authorization: 'Bearer nope' }, /not valid/],
    ['an API admin token', { authorization: 'Bearer bat_test_admin_token_0123456789' }, /not valid/],
  ])('401 with %s', async (_what, headers, message) => {
    for (const path of [`/v1/traefik/config?worker_id=${workers[0].id}`, '/v1/traefik/proxy-config']) {
      const res = await get(cp, path, headers as Record<string, string>);
      expect(res.status).toBe(401);
      expect((await json(res)).message).toMatch(message);
    }
  });

  it('a matching If-None-Match with a bad or missing token still gets 401, not 304', async () => {
    for (const path of [`/v1/traefik/config?worker_id=${workers[0].id}`, '/v1/traefik/proxy-config']) {
      const etag = (await get(cp, path)).headers.get('etag')!;
      expect((await get(cp, path, { ...auth, 'if-none-match': etag })).status).toBe(304);
      for (const headers of [{ 'if-none-match': etag }, { authorization: 'Bearer nope', 'if-none-match': etag }] as Record<string, string>[]) {
        const res = await get(cp, path, headers);
        expect(res.status).toBe(401);
        expect((await json(res)).message).toMatch(/Authorization header|not valid/);
      }
    }
  });

  it('an unknown or malformed worker id gets the empty configuration, and 304 on its ETag', async () => {
    for (const path of [`/v1/traefik/config?worker_id=${randomUUID()}`, '/v1/traefik/config?worker_id=nope', '/v1/traefik/config']) {
      const res = await get(cp, path);
      expect(res.status).toBe(200);
      expect(await res.text()).toBe('{"http":{"routers":{},"services":{}}}');
      expect((await get(cp, path, { ...auth, 'if-none-match': res.headers.get('etag')! })).status).toBe(304);
    }
  });

  it('a change written through one replica reaches the other replica\'s cached body, with a new ETag', async () => {
    const path = `/v1/traefik/config?worker_id=${workers[1].id}`;
    const before = await get(replica, path);
    const etag = before.headers.get('etag')!;
    expect((await get(replica, path, { ...auth, 'if-none-match': etag })).status).toBe(304);

    const docs: FleetApp = { id: randomUUID(), name: 'docs', zone: 'us', workerId: workers[1].id, hostPort: 31005 };
    await cp.app.get(EventStore).appendMany([...appEvents(docs), domainEvents(docs.id, { id: randomUUID(), hostname: 'docs.example.org', verified: true })]);

    const changed = await eventually('the replica to serve the new route', async () => {
      const res = await get(replica, path, { ...auth, 'if-none-match': etag });
      return res.status === 200 ? res : undefined;
    }, 10_000, 20);
    expect(changed.headers.get('etag')).not.toBe(etag);
    expect(await changed.text()).toContain('Host(`docs.us.berth.test`)');
    expect(await (await get(replica, '/v1/traefik/proxy-config')).text()).toContain('Host(`docs.example.org`)');
  });

  it('removing a worker unroutes the apps it ran', async () => {
    const path = `/v1/traefik/config?worker_id=${workers[2].id}`;
    expect(await (await get(cp, path)).text()).toContain('hello');
    await store.append(`worker-${workers[2].id}`, 'worker', 'any', [{ type: 'WorkerRemoved', data: { workerId: workers[2].id, name: 'w', forced: true } }]);
    await eventually('the route to go', async () => ((await (await get(cp, path)).text()) === '{"http":{"routers":{},"services":{}}}' ? true : undefined), 10_000, 20);
  });

  it('deleting an app removes its routes from both bodies', async () => {
    await store.append(`app-${apps[0].id}`, 'app', 'any', [{ type: 'AppDeleted', data: { appId: apps[0].id } }]);
    await eventually('the route to go', async () => {
      const worker = await (await get(cp, `/v1/traefik/config?worker_id=${workers[0].id}`)).text();
      const proxy = await (await get(cp, '/v1/traefik/proxy-config')).text();
      return !worker.includes('shop') && !proxy.includes('shop') ? true : undefined;
    }, 10_000, 20);
  });

  it('after moves, re-verifications and a new advertise address, every body equals what a freshly started replica renders', async () => {
    const moved = apps[3];
    const spec = { name: moved.name, source: { type: 'image' as const, image: 'busybox' }, port: 8080 };
    const blogDomain = apps[1].domains![0];
    const blogDomainEvent = (type: 'DomainVerified' | 'DomainUnrouted') => ({
      streamId: `domain-${blogDomain.id}`,
      streamType: 'domain',
      expectedVersion: 'any' as const,
      events: [type === 'DomainVerified' ? { type, data: { domainId: blogDomain.id, appId: apps[1].id, hostname: blogDomain.hostname } } : { type, data: { domainId: blogDomain.id, appId: apps[1].id, hostname: blogDomain.hostname, reason: 'record gone' } }],
    });
    // Poll every body first so each is cached and must be replaced, not merely rendered late.
    const paths = ['/v1/traefik/proxy-config', ...workers.map((w) => `/v1/traefik/config?worker_id=${w.id}`)];
    for (const path of paths) await get(cp, path);
    await store.appendMany([
      deploymentEvents(moved.id, spec, workers[1].id, 32004),
      blogDomainEvent('DomainVerified'),
      // status.example.org (on workers[1]) is touched by no event but this one.
      { streamId: `worker-${workers[1].id}`, streamType: 'worker', expectedVersion: 'any', events: [{ type: 'WorkerCameOnline', data: { workerId: workers[1].id, capacity: { memoryMb: 1024, cpus: 1 }, advertiseIp: '10.9.0.2' } }] },
    ]);
    await eventually('the changes to be served', async () => {
      const proxy = await (await get(cp, '/v1/traefik/proxy-config')).text();
      return proxy.includes('blog.example.com') && proxy.includes('http://10.9.0.2:31003') ? true : undefined;
    }, 10_000, 20);
    await store.appendMany([blogDomainEvent('DomainUnrouted')]);
    await eventually('the unrouted domain to go', async () => ((await (await get(cp, '/v1/traefik/proxy-config')).text()).includes('blog.example.com') ? undefined : true), 10_000, 20);
    const fresh = await startControlPlane(db.url, { traefikToken: TOKEN, baseDomain: 'berth.test' });
    try {
      for (const path of paths) expect(await (await get(cp, path)).text(), path).toBe(await (await get(fresh, path)).text());
      expect(await (await get(cp, `/v1/traefik/config?worker_id=${workers[1].id}`)).text()).toContain('http://127.0.0.1:32004');
      expect(await (await get(cp, `/v1/traefik/config?worker_id=${workers[2].id}`)).text()).not.toContain('hello');
    } finally {
      await fresh.close();
    }
  });
});

describe('Traefik endpoints without BERTH_TRAEFIK_TOKEN', () => {
  it('answer 401 saying to set it', async () => {
    const db = await createTestDatabase();
    const cp = await startControlPlane(db.url);
    try {
      for (const path of ['/v1/traefik/config?worker_id=x', '/v1/traefik/proxy-config']) {
        const res = await fetch(cp.url + path, { headers: { authorization: 'Bearer anything' } });
        expect(res.status).toBe(401);
        expect(((await res.json()) as { message: string }).message).toMatch(/set BERTH_TRAEFIK_TOKEN/);
      }
    } finally {
      await cp.close();
      await db.drop();
    }
  });
});
