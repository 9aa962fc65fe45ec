import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpProbe } from './health-check';

describe('httpProbe (real HTTP on 127.0.0.1)', () => {
  let server: http.Server;
  let port: number;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      if (req.url === '/ok') res.writeHead(204).end();
      else if (req.url === '/moved') res.writeHead(302, { location: '/elsewhere' }).end();
      else if (req.url === '/slow') setTimeout(() => res.writeHead(200).end(), 1_000);
      else res.writeHead(500).end('boom');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('takes 2xx and 3xx (without following the redirect) as healthy, 5xx as not', async () => {
    expect(await httpProbe(`http://127.0.0.1:${port}/ok`, 1_000)).toEqual({ ok: true, status: 204 });
    expect(await httpProbe(`http://127.0.0.1:${port}/moved`, 1_000)).toEqual({ ok: true, status: 302 });
    expect(await httpProbe(`http://127.0.0.1:${port}/fail`, 1_000)).toEqual({ ok: false, detail: 'HTTP 500' });
  });

  it('reports a timeout and a refused connection', async () => {
    expect(await httpProbe(`http://127.0.0.1:${port}/slow`, 100)).toEqual({ ok: false, detail: 'no answer within 100 ms' });
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    expect(await httpProbe(`http://127.0.0.1:${closedPort}/`, 1_000)).toEqual({ ok: false, detail: 'connection refused' });
  });
});
