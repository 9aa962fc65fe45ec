/**
 * RoutesSync against a real Caddy (started on free 127.0.0.1 ports): routes reach apps over HTTP and
 * over HTTPS with Caddy's internal CA, a change lands within a second, removed routes answer 404,
 * a restarted Caddy gets its routes back, and switching routes drops no request.
 */
import { systemClock } from '@berth/core';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasCaddy, startCaddy, viaCaddy, viaCaddyTls, type TestCaddy } from '../../../../test/support/caddy';
import { eventually } from '../../../../test/support/processes';
import { CaddyAdmin } from './caddy-admin';
import type { CaddyOptions } from './caddy-config';
import { RoutesSync } from './routes-sync';

async function upstream(name: string): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((req, res) => res.end(`${name} answered ${req.headers.host}`));
  server.keepAliveTimeout = 1000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as AddressInfo).port, close: () => new Promise((r) => server.close(() => r())) };
}

describe.skipIf(!hasCaddy())('RoutesSync drives a real Caddy', { timeout: 60_000 }, () => {
  let caddy: TestCaddy;
  let sync: RoutesSync;
  let blue: Awaited<ReturnType<typeof upstream>>;
  let green: Awaited<ReturnType<typeof upstream>>;

  beforeAll(async () => {
    caddy = await startCaddy();
    [blue, green] = [await upstream('blue'), await upstream('green')];
    const options: CaddyOptions = { adminListen: caddy.adminListen, httpListen: caddy.httpListen, httpsListen: caddy.httpsListen, tls: 'internal', storageDir: caddy.storageDir };
    sync = new RoutesSync({ admin: new CaddyAdmin(caddy.adminUrl), caddy: options, clock: systemClock, logger: pino({ level: 'silent' }), checkIntervalMs: 300 });
    sync.start();
  });
  afterAll(async () => {
    await sync?.stop();
    await caddy?.stop();
    await blue?.close();
    await green?.close();
  });

  it('routes each host to its upstream, and an unknown host gets 404', async () => {
    await sync.set([
      { id: 'app-1', hosts: ['shop.de.berth.test', 'shop.example.com'], upstreamPort: blue.port },
      { id: 'app-2', hosts: ['blog.berth.test'], upstreamPort: green.port },
    ]);
    expect(await viaCaddy(caddy, 'shop.de.berth.test')).toEqual({ status: 200, body: 'blue answered shop.de.berth.test' });
    expect(await viaCaddy(caddy, 'shop.example.com')).toEqual({ status: 200, body: 'blue answered shop.example.com' });
    expect(await viaCaddy(caddy, 'blog.berth.test')).toEqual({ status: 200, body: 'green answered blog.berth.test' });
    expect((await viaCaddy(caddy, 'nobody.berth.test')).status).toBe(404);
  });

  it('serves HTTPS with a certificate from Caddy\'s internal CA', async () => {
    const res = await eventually('Caddy to issue the internal certificate', async () => viaCaddyTls(caddy, 'shop.example.com').catch(() => undefined), 20_000, 200);
    expect(res.status).toBe(200);
    expect(res.body).toBe('blue answered shop.example.com');
    expect(res.issuer).toMatch(/Caddy Local Authority/);
  });

  it('a changed route is served within a second, and a removed one answers 404', async () => {
    const started = performance.now();
    await sync.set([{ id: 'app-1', hosts: ['shop.de.berth.test', 'shop.example.com'], upstreamPort: green.port }]);
    expect((await viaCaddy(caddy, 'shop.de.berth.test')).body).toBe('green answered shop.de.berth.test');
    expect(performance.now() - started).toBeLessThan(1000);
    expect((await viaCaddy(caddy, 'blog.berth.test')).status).toBe(404);
  });

  it('refuses hostile hosts: they never reach Caddy', async () => {
    await sync.set([{ id: 'app-1', hosts: ['shop.de.berth.test', 'evil.com`', 'UPPER.example.com', '*.example.com'], upstreamPort: blue.port }]);
    expect((await viaCaddy(caddy, 'shop.de.berth.test')).body).toMatch(/^blue/);
    const config = await (await fetch(`${caddy.adminUrl}/config/`)).text();
    expect(config).not.toMatch(/evil|UPPER|\*\.example/);
  });

  it('a restarted Caddy (its configuration lost) gets the routes back from the periodic check', async () => {
    await caddy.restart();
    const back = await eventually('the routes to be loaded again', async () => {
      const res = await viaCaddy(caddy, 'shop.de.berth.test').catch(() => undefined);
      return res?.status === 200 ? res : undefined;
    }, 10_000, 100);
    expect(back.body).toMatch(/^blue/);
  });

  it('switching a route back and forth under continuous requests: every answer comes from an app, never a missing route', async () => {
    await sync.set([{ id: 'app-1', hosts: ['shop.de.berth.test'], upstreamPort: blue.port }]);
    expect((await viaCaddy(caddy, 'shop.de.berth.test')).status).toBe(200);
    let stop = false;
    const wrong: string[] = [];
    let resets = 0;
    let answered = 0;
    const clients = Array.from({ length: 4 }, async () => {
      while (!stop) {
        try {
          const res = await viaCaddy(caddy, 'shop.de.berth.test');
          if (res.status !== 200 || !/answered/.test(res.body)) wrong.push(`${res.status} ${res.body}`);
          else answered++;
        } catch (err) {
          // Caddy 2.6 listens with SO_REUSEPORT on Linux: a reload closes the old socket, and a
          // connection the kernel queued on it in that instant is reset. Counted, bounded below.
          if (/ECONNRESET/.test(String(err))) resets++;
          else wrong.push(String(err));
        }
      }
    });
    for (let i = 0; i < 10; i++) {
      await sync.set([{ id: 'app-1', hosts: ['shop.de.berth.test'], upstreamPort: i % 2 === 0 ? green.port : blue.port }]);
      await new Promise((r) => setTimeout(r, 100));
    }
    stop = true;
    await Promise.all(clients);
    expect(wrong).toEqual([]);
    expect(answered).toBeGreaterThan(20);
    expect(resets, `${resets} connections reset across 10 reloads`).toBeLessThanOrEqual(Math.ceil(answered / 50));
  });
});
