/**
 * Routing: rendering both Traefik bodies for 10,000 apps over 100 workers (pure, and with the batch
 * queries the endpoints run on a cache miss), the 304 path of a real control plane under 200 pollers,
 * and how long a finished deploy takes to be served by the worker's Caddy.
 */
import { EventStore } from '@berth/event-store';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Pool } from 'pg';
import type { AppRoute } from '../apps/control-plane/src/modules/routing/routes';
import { RoutesRepository } from '../apps/control-plane/src/modules/routing/routes.repository';
import { renderProxyConfig, renderWorkerConfig } from '../apps/control-plane/src/modules/routing/traefik-config';
import { startBerth } from '../test/support/berth';
import { startCaddy, viaCaddy } from '../test/support/caddy';
import { ensureBusyboxImage } from '../test/support/docker';
import { eventually } from '../test/support/processes';
import { appendFleet, deploymentEvents, type FleetApp, type FleetWorker } from '../test/support/routing-fleet';
import { percentile, type BenchRow } from './support/table';

const APPS = 10_000;
const WORKERS = 100;
const ZONES = ['de', 'fr', 'us', 'sg'];
const RUNS = 9;
const POLLERS = 200;
const TOKEN = 'bench-traefik-token';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function fleet(): { workers: FleetWorker[]; apps: FleetApp[] } {
  const workers = Array.from({ length: WORKERS }, (_, i) => ({ id: randomUUID(), zone: ZONES[i % ZONES.length], advertiseIp: `10.8.${i >> 8}.${i & 255}` }));
  const apps = Array.from({ length: APPS }, (_, i) => {
    const w = workers[i % WORKERS];
    return { id: randomUUID(), name: `app-${i}`, zone: i % 5 === 0 ? undefined : w.zone, workerId: w.id, hostPort: 20_000 + (i % 40_000), domains: [{ id: randomUUID(), hostname: `app-${i}.customer-${i % 997}.example`, verified: i % 10 !== 0 }] };
  });
  return { workers, apps };
}

function timed(fn: () => unknown): number {
  const started = performance.now();
  fn();
  return performance.now() - started;
}

async function timedAsync(fn: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await fn();
  return performance.now() - started;
}

/** One GET with If-None-Match over a keep-alive agent; resolves to [status, ms]. */
function poll(agent: http.Agent, port: number, path: string, etag: string): Promise<[number, number]> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent, headers: { authorization: `Bearer ${TOKEN}`, 'if-none-match': etag } }, (res) => {
      res.resume();
      res.on('end', () => resolve([res.statusCode ?? 0, performance.now() - started]));
    });
    req.on('error', reject);
  });
}

export async function run(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const { workers, apps } = fleet();

  // --- pure render -------------------------------------------------------------------------------
  const routes: AppRoute[] = apps.map((a) => ({
    appId: a.id,
    appName: a.name,
    zone: a.zone ?? null,
    workerId: a.workerId,
    hostPort: a.hostPort,
    advertiseIp: workers.find((w) => w.id === a.workerId)!.advertiseIp,
    domains: a.domains!.filter((d) => d.verified).map((d) => d.hostname),
  }));
  const byWorker = new Map<string, AppRoute[]>();
  for (const r of routes) byWorker.set(r.workerId, [...(byWorker.get(r.workerId) ?? []), r]);
  const proxyPure: number[] = [];
  const workersPure: number[] = [];
  for (let i = -1; i < RUNS; i++) {
    const p = timed(() => renderProxyConfig(routes, 'letsencrypt'));
    const w = timed(() => {
      for (const w of workers) renderWorkerConfig(byWorker.get(w.id)!, w.id, 'berth.example');
    });
    if (i >= 0) proxyPure.push(p), workersPure.push(w);
  }
  rows.push(
    { benchmark: 'routing', metric: `render proxy-config, ${APPS} apps (pure)`, value: median(proxyPure), unit: 'ms', goal: '<= 50', note: `median of ${RUNS}; ${(renderProxyConfig(routes, 'letsencrypt').body.length / 1024).toFixed(0)} KiB` },
    { benchmark: 'routing', metric: `render all ${WORKERS} worker configs, ${APPS} apps (pure)`, value: median(workersPure), unit: 'ms', goal: '<= 50', note: `median of ${RUNS}; all workers together` },
  );

  // --- a real control plane with Caddy on its worker -------------------------------------------------
  await ensureBusyboxImage();
  const caddy = await startCaddy();
  const berth = await startBerth({
    logLevel: 'warn',
    database: 'migrate',
    controlPlaneEnv: { BERTH_TRAEFIK_TOKEN: TOKEN },
    agentEnv: { BERTH_PROXY: 'caddy', BERTH_CADDY_ADMIN_URL: caddy.adminUrl, BERTH_CADDY_TLS: 'internal', BERTH_CADDY_HTTP_LISTEN: caddy.httpListen, BERTH_CADDY_HTTPS_LISTEN: caddy.httpsListen },
  });
  const pool = new Pool({ connectionString: berth.databaseUrl, max: 4 });
  pool.on('error', () => undefined);
  const port = Number(new URL(berth.base).port);
  try {
    const store = new EventStore(pool);
    const seedStarted = performance.now();
    await appendFleet(store, workers, apps);
    const lastHost = apps[apps.length - 1].domains![0].hostname;
    await eventually('the fleet to be projected', async () => {
      const res = await fetch(`${berth.base}/v1/traefik/proxy-config`, { headers: { authorization: `Bearer ${TOKEN}` } });
      return (await res.text()).includes(lastHost) ? true : undefined;
    }, 600_000, 500);
    const seedS = (performance.now() - seedStarted) / 1000;
    // The fleet's workers never heartbeat: the control plane marks them offline and stops their apps
    // (thousands of events). Measure once the log has been still for 5 s, not during that cascade.
    let last = '';
    let stillSince = performance.now();
    while (performance.now() - stillSince < 5_000) {
      const head = (await pool.query<{ n: string }>('SELECT coalesce(max(global_position), 0)::text AS n FROM events')).rows[0].n;
      if (head !== last) (last = head), (stillSince = performance.now());
      await new Promise((r) => setTimeout(r, 500));
    }
    const quietS = (performance.now() - seedStarted) / 1000 - seedS;

    // Cache-miss path as the endpoints run it: the batch queries plus the render.
    const repository = new RoutesRepository(pool);
    const proxyDb: number[] = [];
    const workerDb: number[] = [];
    for (let i = -1; i < RUNS; i++) {
      const p = await timedAsync(async () => renderProxyConfig(await repository.routesWithVerifiedDomains(), 'letsencrypt'));
      const w = await timedAsync(async () => renderWorkerConfig(await repository.routesOfWorker(workers[i + 1].id, { withDomains: false }), workers[i + 1].id, 'localhost'));
      if (i >= 0) proxyDb.push(p), workerDb.push(w);
    }
    rows.push(
      { benchmark: 'routing', metric: `proxy-config cache miss: batch queries + render, ${APPS} apps`, value: median(proxyDb), unit: 'ms', goal: '<= 50', note: `median of ${RUNS}; fleet appended and projected in ${seedS.toFixed(0)} s, quiet ${quietS.toFixed(0)} s later` },
      { benchmark: 'routing', metric: `worker config cache miss: query + render, ${APPS / WORKERS} apps`, value: median(workerDb), unit: 'ms', goal: '<= 50', note: `median of ${RUNS}` },
    );

    // --- the 304 path under 200 pollers -------------------------------------------------------------
    const paths = [`/v1/traefik/proxy-config`, ...workers.slice(0, POLLERS - 1).map((w) => `/v1/traefik/config?worker_id=${w.id}`)];
    const agent = new http.Agent({ keepAlive: true, maxSockets: POLLERS });
    const etags = await Promise.all(
      paths.map(async (p) => (await fetch(berth.base + p, { headers: { authorization: `Bearer ${TOKEN}` } })).headers.get('etag')!),
    );
    // Traefik's cadence: every poller once per 2 s (random phase), for 20 s.
    const paced: number[] = [];
    let notModified = 0;
    const until = performance.now() + 20_000;
    await Promise.all(
      paths.map(async (p, i) => {
        await new Promise((r) => setTimeout(r, Math.random() * 2000));
        while (performance.now() < until) {
          const [status, ms] = await poll(agent, port, p, etags[i]);
          if (status === 304) notModified++;
          paced.push(ms);
          await new Promise((r) => setTimeout(r, 2000));
        }
      }),
    );
    paced.sort((a, b) => a - b);
    rows.push({
      benchmark: 'routing',
      metric: `304 path, ${POLLERS} pollers every 2 s: p99`,
      value: percentile(paced, 99),
      unit: 'ms',
      goal: '<= 2',
      note: `${paced.length} polls, ${notModified} answered 304; p50 ${percentile(paced, 50).toFixed(2)} ms; client-side, same 2-core machine`,
    });
    // All 200 at once, back to back, for 5 s: the worst case.
    const burst: number[] = [];
    const burstUntil = performance.now() + 5_000;
    await Promise.all(
      paths.map(async (p, i) => {
        while (performance.now() < burstUntil) burst.push((await poll(agent, port, p, etags[i]))[1]);
      }),
    );
    burst.sort((a, b) => a - b);
    rows.push({
      benchmark: 'routing',
      metric: `304 path, ${POLLERS} pollers back to back: p99`,
      value: percentile(burst, 99),
      unit: 'ms',
      note: `${(burst.length / 5).toFixed(0)} req/s; p50 ${percentile(burst, 50).toFixed(2)} ms; saturation, not Traefik's cadence`,
    });
    agent.destroy();

    // --- propagation: a finished deploy until Caddy serves it ---------------------------------------
    const app: FleetApp = { id: randomUUID(), name: 'propagation', workerId: berth.workerId, hostPort: 0 };
    const spec = { name: app.name, source: { type: 'image' as const, image: 'busybox' }, port: 8080 };
    await store.append(`app-${app.id}`, 'app', 'no_stream', [{ type: 'AppCreated', data: { appId: app.id, spec } }]);
    const propagation: number[] = [];
    for (let i = 0; i < 15; i++) {
      const marker = `version-${i}`;
      const server = http.createServer((_req, res) => res.end(marker));
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const started = performance.now();
      // What the agent's job:succeeded becomes: JobSucceeded with the new container's port.
      await store.appendMany([deploymentEvents(app.id, spec, berth.workerId, (server.address() as AddressInfo).port)]);
      await eventually('Caddy to serve the new version', async () => ((await viaCaddy(caddy, 'propagation.localhost').catch(() => undefined))?.body === marker ? true : undefined), 10_000, 5);
      propagation.push(performance.now() - started);
      await new Promise<void>((r) => server.close(() => r()));
    }
    propagation.sort((a, b) => a - b);
    rows.push({
      benchmark: 'routing',
      metric: 'finished deploy -> served by Caddy (median)',
      value: median(propagation),
      unit: 'ms',
      goal: '<= 1000',
      note: `${propagation.length} deploys; max ${propagation[propagation.length - 1].toFixed(0)} ms; JobSucceeded appended -> projected -> pushed -> Caddy /load -> first answer (5 ms polls)`,
    });
  } finally {
    await pool.end();
    await berth.close();
    await caddy.stop();
  }
  return rows;
}
