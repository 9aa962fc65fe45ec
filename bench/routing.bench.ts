/**
 * Routing: rendering both Traefik bodies for 10,000 apps over 100 workers (pure, and with the batch
 * queries the endpoints run on a cache miss), the 304 path of a real control plane under 200 pollers,
 * and how long a finished deploy takes to be served by the worker's Caddy.
 */
import { EventStore } from '@berth/event-store';
import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Pool } from 'pg';
import type { AppRoute } from '../apps/control-plane/src/modules/routing/routes';
import { RoutesModel, touchedBy } from '../apps/control-plane/src/modules/routing/routes-model';
import { RoutesRepository } from '../apps/control-plane/src/modules/routing/routes.repository';
import { renderProxyConfig, renderWorkerConfig } from '../apps/control-plane/src/modules/routing/traefik-config';
import { startBerth } from '../test/support/berth';
import { startCaddy, viaCaddy } from '../test/support/caddy';
import { ensureBusyboxImage } from '../test/support/docker';
import { eventually } from '../test/support/processes';
import { appendFleet, deploymentEvents, type FleetApp, type FleetWorker } from '../test/support/routing-fleet';
import type { PollersJob, PollersResult } from './support/pollers';
import { percentile, type BenchRow } from './support/table';

const APPS = 10_000;
const WORKERS = 100;
const ZONES = ['de', 'fr', 'us', 'sg'];
const RUNS = 9;
const POLLERS = 200;
/** Turns of 10 s each for the control plane and the bare server under the paced pollers. */
const ROUNDS = 6;
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

/** The control plane's /metrics as sample name (with labels) -> value. */
async function scrape(base: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^(\S+) (\S+)$/.exec(line);
    if (m && !line.startsWith('#')) samples.set(m[1], Number(m[2]));
  }
  return samples;
}

/** Runs the pollers (support/pollers) in a forked process and returns what they measured. */
function inChildProcess(job: PollersJob): Promise<PollersResult> {
  const child = fork(path.join(__dirname, 'support', 'pollers.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('message', (result) => resolve(result as PollersResult));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the pollers' process exited with ${code} before answering`)));
    child.send(job);
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

    // What the control plane does at start (load the whole read model), after each batch of route
    // events (re-read what it touched: here one app), and on a cache miss (render from memory).
    const repository = new RoutesRepository(pool);
    const model = new RoutesModel();
    const load: number[] = [];
    const refresh: number[] = [];
    const proxyMiss: number[] = [];
    const workerMiss: number[] = [];
    // Loads first, on their own: a render right after a load would also pay for collecting the model
    // the load replaced, which a running control plane does once per start, not per miss.
    for (let i = -1; i < RUNS; i++) {
      const l = await timedAsync(async () => model.load(await repository.allRoutes()));
      if (i >= 0) load.push(l);
    }
    for (let i = -1; i < RUNS; i++) {
      const touched = touchedBy([{ type: 'DomainVerified', data: { appId: apps[i + 1].id } }]);
      const r = await timedAsync(async () => model.replace(touched.appIds, touched.workerIds, await repository.routesOf(touched)));
      const p = timed(() => renderProxyConfig(model.routesWithVerifiedDomains(), 'letsencrypt'));
      const w = timed(() => renderWorkerConfig(model.routesOfWorker(workers[i + 1].id), workers[i + 1].id, 'localhost'));
      if (i >= 0) refresh.push(r), proxyMiss.push(p), workerMiss.push(w);
    }
    rows.push(
      { benchmark: 'routing', metric: `proxy-config cache miss: render from the in-memory model, ${APPS} apps`, value: median(proxyMiss), unit: 'ms', goal: '<= 50', note: `median of ${RUNS}; ${model.size} routes in memory; fleet appended and projected in ${seedS.toFixed(0)} s, quiet ${quietS.toFixed(0)} s later` },
      { benchmark: 'routing', metric: `worker config cache miss: render from the in-memory model, ${APPS / WORKERS} apps`, value: median(workerMiss), unit: 'ms', goal: '<= 50', note: `median of ${RUNS}` },
      { benchmark: 'routing', metric: `routes model: load at start (2 queries), ${APPS} apps`, value: median(load), unit: 'ms', note: `median of ${RUNS}; once per control plane start` },
      { benchmark: 'routing', metric: 'routes model: refresh after a route event touching 1 app', value: median(refresh), unit: 'ms', note: `median of ${RUNS}; off the request path (in the routes subscription)` },
    );

    // The same miss over HTTP: a domain is verified, and the first poll that sees the new ETag is the
    // one that rendered the body (pollers 5 ms apart, one at a time), 1.7 MB transfer included.
    const unverified = apps.filter((a) => !a.domains![0].verified);
    let proxyEtag = (await fetch(`${berth.base}/v1/traefik/proxy-config`, { headers: { authorization: `Bearer ${TOKEN}` } })).headers.get('etag')!;
    const httpMiss: number[] = [];
    for (let i = -1; i < RUNS; i++) {
      const a = unverified[i + 1];
      const d = a.domains![0];
      await store.append(`domain-${d.id}`, 'domain', 'any', [{ type: 'DomainVerified', data: { domainId: d.id, appId: a.id, hostname: d.hostname } }]);
      const [ms, etag] = await eventually('the new proxy body', async () => {
        const started = performance.now();
        const res = await fetch(`${berth.base}/v1/traefik/proxy-config`, { headers: { authorization: `Bearer ${TOKEN}`, 'if-none-match': proxyEtag } });
        await res.arrayBuffer();
        return res.status === 200 ? ([performance.now() - started, res.headers.get('etag')!] as const) : undefined;
      }, 10_000, 5);
      proxyEtag = etag;
      if (i >= 0) httpMiss.push(ms);
    }
    rows.push({ benchmark: 'routing', metric: `proxy-config cache miss over HTTP, ${APPS} apps`, value: median(httpMiss), unit: 'ms', goal: '<= 50', note: `median of ${RUNS}; max ${Math.max(...httpMiss).toFixed(0)} ms; client-side: first poll after a domain is verified, render + ETag + 1.7 MB` });

    // --- the 304 path under 200 pollers, from a process of their own ---------------------------------
    // One edge Traefik and 199 worker Traefiks: with 100 workers, two instances poll each worker's config.
    const paths = [`/v1/traefik/proxy-config`, ...Array.from({ length: POLLERS - 1 }, (_, i) => `/v1/traefik/config?worker_id=${workers[i % WORKERS].id}`)];
    const etags = await Promise.all(
      paths.map(async (p) => (await fetch(berth.base + p, { headers: { authorization: `Bearer ${TOKEN}` } })).headers.get('etag')!),
    );
    const job = { port, token: TOKEN, paths, etags, intervalMs: 2_000 };
    // Traefik's cadence: every poller once per 2 s, phases spread over the 2 s. The goal's figure comes
    // from the lean 'wire' client, Go-like in what it does per request. The floor comes from the same
    // pollers against a bare node:http server answering 304 and nothing else, in turns with the control
    // plane (10 s each, ROUNDS rounds), so both see the same machine. The control plane's own view of
    // the turns comes from its /metrics: the event-loop delay (reset by each scrape, so the second
    // scrape covers the turns) and the GC pauses by kind. Node's http client follows on its own, to
    // show what a heavier client adds on its side of the measurement.
    const bare = fork(path.join(__dirname, 'support', 'bare-304.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const barePort = await new Promise<number>((resolve) => bare.once('message', (m: { port: number }) => resolve(m.port)));
    const merge = (rs: PollersResult[]): PollersResult => ({
      latencies: rs.flatMap((r) => r.latencies).sort((x, y) => x - y),
      lateness: rs.flatMap((r) => r.lateness).sort((x, y) => x - y),
      notModified: rs.reduce((n, r) => n + r.notModified, 0),
      others: rs.reduce((n, r) => n + r.others, 0),
    });
    const berthTurns: PollersResult[] = [];
    const bareTurns: PollersResult[] = [];
    const before = await scrape(berth.base);
    for (let round = 0; round < ROUNDS; round++) {
      berthTurns.push(await inChildProcess({ ...job, client: 'wire', mode: 'paced', durationMs: 10_000 }));
      bareTurns.push(await inChildProcess({ ...job, port: barePort, etags: paths.map(() => '"bare"'), client: 'wire', mode: 'paced', durationMs: 10_000 }));
    }
    const after = await scrape(berth.base);
    bare.disconnect();
    const paced = merge(berthTurns);
    const floor = merge(bareTurns);
    const turnsP99 = (rs: PollersResult[]) => rs.map((r) => percentile(r.latencies, 99).toFixed(2)).join(', ');
    const pacedHttp = await inChildProcess({ ...job, client: 'http', mode: 'paced', durationMs: 20_000 });
    const gc = (kind: string) => {
      const n = (after.get(`berth_nodejs_gc_duration_seconds_count{kind="${kind}"}`) ?? 0) - (before.get(`berth_nodejs_gc_duration_seconds_count{kind="${kind}"}`) ?? 0);
      const ms = ((after.get(`berth_nodejs_gc_duration_seconds_sum{kind="${kind}"}`) ?? 0) - (before.get(`berth_nodejs_gc_duration_seconds_sum{kind="${kind}"}`) ?? 0)) * 1000;
      return `${kind} ${n} (${ms.toFixed(0)} ms)`;
    };
    const describe = (r: PollersResult) =>
      `${r.latencies.length} polls, ${r.notModified} answered 304; p50 ${percentile(r.latencies, 50).toFixed(2)} ms, p99.9 ${percentile(r.latencies, 99.9).toFixed(2)} ms, max ${r.latencies[r.latencies.length - 1].toFixed(1)} ms; client-side, pollers in their own process, sent late by p99 ${percentile(r.lateness, 99).toFixed(1)} ms, max ${r.lateness[r.lateness.length - 1].toFixed(0)} ms`;
    rows.push(
      {
        benchmark: 'routing',
        metric: `304 path, ${POLLERS} pollers every 2 s: p99`,
        value: percentile(paced.latencies, 99),
        unit: 'ms',
        goal: '<= 2',
        note: `${describe(paced)}; one keep-alive socket per poller, request written, status line and headers read by hand; ${ROUNDS} turns of 10 s, p99 by turn ${turnsP99(berthTurns)} ms`,
      },
      {
        benchmark: 'routing',
        metric: `304 path, the same pollers against a bare node:http server (the floor): p99`,
        value: percentile(floor.latencies, 99),
        unit: 'ms',
        note: `${describe(floor)}; in turns with the row above: Berth ÷ floor = ${(percentile(paced.latencies, 99) / percentile(floor.latencies, 99)).toFixed(2)} at p99, ${(percentile(paced.latencies, 50) / percentile(floor.latencies, 50)).toFixed(2)} at p50; p99 by turn ${turnsP99(bareTurns)} ms`,
      },
      {
        benchmark: 'routing',
        metric: `304 path, ${POLLERS} pollers every 2 s: control plane event-loop delay, max`,
        value: after.get('berth_nodejs_eventloop_lag_max_seconds')! * 1000,
        unit: 'ms',
        note: `server-side, over the turns (floor turns included): p99 ${(after.get('berth_nodejs_eventloop_lag_p99_seconds')! * 1000).toFixed(1)} ms (10 ms resolution); GC pauses ${['minor', 'major', 'incremental'].map(gc).join(', ')}`,
      },
      {
        benchmark: 'routing',
        metric: `304 path, ${POLLERS} pollers every 2 s, Node's http client: p99`,
        value: percentile(pacedHttp.latencies, 99),
        unit: 'ms',
        note: `${describe(pacedHttp)}; the next 20 s, http.Agent with keep-alive per poller`,
      },
    );
    // All 200 at once, back to back, for 5 s: the worst case.
    const burst = await inChildProcess({ ...job, client: 'wire', mode: 'burst', durationMs: 5_000 });
    rows.push({
      benchmark: 'routing',
      metric: `304 path, ${POLLERS} pollers back to back: p99`,
      value: percentile(burst.latencies, 99),
      unit: 'ms',
      note: `${(burst.latencies.length / 5).toFixed(0)} req/s, ${burst.others} not 304; p50 ${percentile(burst.latencies, 50).toFixed(2)} ms; saturation, not Traefik's cadence`,
    });

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
