/**
 * Live telemetry through a real control-plane process:
 * - stats fan-out: fake agents send `stats:snapshots` for 200 apps at 1 Hz; 1,000 socket.io clients
 *   (5 per app) on /api/apps/:id/ws/stats; delivery latency = receipt - sampledAt (goal p99 <= 100 ms);
 * - log ingestion: a fake agent blasts `logs:lines` batches for a few apps, one socket.io subscriber
 *   per app on /api/apps/:id/ws/logs; lines/s from the control plane on and each line's latency from
 *   send to receipt, beside a raw multi-row INSERT of the same lines into PostgreSQL (the ratio is
 *   Berth's rate over the raw one). Context only: the seed's log goals are measured end to end, from
 *   a real container through the real agent, by runtime-logs.bench.ts;
 * - the control plane's peak RSS during each.
 */
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { io, type Socket } from 'socket.io-client';
import { createMigratedDatabase } from '../test/support/pg-admin';
import { eventually, freePort, startControlPlaneProcess } from '../test/support/processes';
import { rssMiB } from './support/platform';
import { percentile, type BenchRow } from './support/table';

const STATS_APPS = 200;
const STATS_WORKERS = 4;
const SUBSCRIBERS = 1_000;
const STATS_SECONDS = Number(process.env.BERTH_BENCH_STATS_SECONDS ?? 15);
const LOG_APPS = 4;
const LOG_SECONDS = Number(process.env.BERTH_BENCH_LOG_SECONDS ?? 10);
const BATCH = 500;
const IN_FLIGHT_PER_APP = 3;
const PAD = 'x'.repeat(80);

type Ack = { ok: boolean; result?: unknown; error?: { message: string } };
interface Placed { appId: string; deploymentId: string; containerId: string; agent: Socket }

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const connect = (url: string, auth: Record<string, unknown>, before?: (s: Socket) => void) =>
  new Promise<Socket>((resolve, reject) => {
    const s = io(url, { auth, transports: ['websocket'], reconnection: false, forceNew: true });
    before?.(s);
    s.once('connect', () => resolve(s));
    s.once('connect_error', reject);
  });
const ack = (s: Socket, event: string, payload: unknown) => s.timeout(30_000).emitWithAck(event, payload) as Promise<Ack>;

export async function run(): Promise<BenchRow[]> {
  const db = await createMigratedDatabase('berth_bench_tel');
  const token = `bat_${randomBytes(18).toString('base64url')}`;
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const cp = startControlPlaneProcess({ databaseUrl: db.url, port, adminToken: token, extra: { BERTH_LOG_LEVEL: 'warn', BERTH_DATABASE_POOL_SIZE: '20' } });
  const sockets: Socket[] = [];
  try {
    await eventually('the control plane', async () => ((await fetch(`${base}/healthz`).catch(() => undefined))?.ok ? true : undefined), 60_000, 100);
    const api = async (path: string, json?: unknown) => {
      const res = await fetch(base + path, {
        method: json === undefined ? 'GET' : 'POST',
        headers: { authorization: `Bearer ${token}`, ...(json === undefined ? {} : { 'content-type': 'application/json' }) },
        body: json === undefined ? undefined : JSON.stringify(json),
      });
      return { status: res.status, body: (await res.json().catch(() => undefined)) as any }; // eslint-disable-line @typescript-eslint/no-explicit-any
    };

    // Workers whose fake agents run every job they are pushed at once.
    const placed = new Map<string, Placed>();
    const agents: Socket[] = [];
    for (let w = 0; w < STATS_WORKERS; w++) {
      const worker = await api('/api/workers', { name: `bench-w${w}` });
      const agent = await connect(`${base}/agent`, { token: worker.body.token }, (s) =>
        s.on('job', (job: { jobId: string; appId: string; deploymentId: string }, reply: (r: { accepted: boolean }) => void) => {
          reply({ accepted: true });
          const containerId = `c-${job.deploymentId}`;
          void (async () => {
            await ack(s, 'job:started', { jobId: job.jobId, phase: 'starting' });
            await ack(s, 'job:container-started', { jobId: job.jobId, containerId, hostPort: 20_000 + placed.size });
            await ack(s, 'job:succeeded', { jobId: job.jobId, containerId, hostPort: 20_000 + placed.size });
            placed.set(job.appId, { appId: job.appId, deploymentId: job.deploymentId, containerId, agent: s });
          })();
        }),
      );
      sockets.push(agent);
      agents.push(agent);
      await ack(agent, 'hello', { capacity: { memoryMb: 1_000_000, cpus: 64 }, advertiseIp: '127.0.0.1', agentVersion: 'bench', containers: [] });
      // Heartbeats, or the worker is taken offline after BERTH_WORKER_GRACE_MS.
      const beat = setInterval(() => void ack(agent, 'heartbeat', { at: new Date().toISOString(), capacity: { memoryMb: 1_000_000, cpus: 64 }, runningContainers: 1 }).catch(() => undefined), 3_000);
      agent.once('disconnect', () => clearInterval(beat));
    }
    const total = STATS_APPS + LOG_APPS;
    const appIds: string[] = [];
    for (let i = 0; i < total; i++) {
      const app = await api('/api/apps', { name: `bench-${i}`, source: { type: 'image', image: 'berth/hello:1' }, port: 8080, memoryMb: 16 });
      appIds.push(app.body.id);
      for (let attempt = 1; ; attempt++) {
        const deployed = await api(`/api/apps/${app.body.id}/deployments`, {});
        if (deployed.status === 202) break;
        if (attempt === 5) throw new Error(`deploying app ${i} answered ${deployed.status}: ${JSON.stringify(deployed.body)}`);
      }
    }
    await eventually('every app to run', async () => (placed.size === total ? true : undefined), 300_000, 200);
    // Wait until the apps read model names each current deployment (the stats check asks it).
    await eventually(
      'the apps read model',
      async () => ((await Promise.all(appIds.map(async (id) => (await api(`/api/apps/${id}`)).body?.endpoints?.length > 0))).every(Boolean) ? true : undefined),
      120_000,
      500,
    );
    const statsApps = appIds.slice(0, STATS_APPS).map((id) => placed.get(id)!);
    const logApps = appIds.slice(STATS_APPS).map((id) => placed.get(id)!);

    // --- stats fan-out ---
    const latencies: number[] = [];
    let measuring = false;
    for (let i = 0; i < SUBSCRIBERS; i++) {
      const app = statsApps[i % STATS_APPS];
      sockets.push(
        await connect(`${base}/api/apps/${app.appId}/ws/stats`, { token }, (s) =>
          s.on('stats', (v: { live: boolean; sampledAt?: string }) => {
            if (measuring && v.live) latencies.push(Date.now() - Date.parse(v.sampledAt!));
          }),
        ),
      );
    }
    const rss: number[] = [];
    const sampleRss = setInterval(() => rss.push(rssMiB(cp.child.pid!)), 250);
    measuring = true;
    const byAgent = new Map<Socket, Placed[]>();
    for (const a of statsApps) byAgent.set(a.agent, [...(byAgent.get(a.agent) ?? []), a]);
    let refused = 0;
    for (let t = 0; t < STATS_SECONDS; t++) {
      const tickStart = Date.now();
      // Each worker ticks at its own offset inside the second, as real agents do.
      await Promise.all(
        [...byAgent.entries()].map(async ([agent, apps], w) => {
          await sleep((w * 1000) / STATS_WORKERS);
          const reply = await ack(agent, 'stats:snapshots', {
            sampledAt: new Date().toISOString(),
            containers: apps.map((a) => ({
              containerId: a.containerId, appId: a.appId, deploymentId: a.deploymentId, cpuPercent: Math.random() * 100,
              memoryBytes: 1e8, memoryLimitBytes: 2.6e8, netRxBytes: t, netTxBytes: t, blockReadBytes: 0, blockWriteBytes: 0, pids: 3, restarts: 0,
            })),
          });
          if (!reply.ok) refused++;
        }),
      );
      await sleep(Math.max(0, 1000 - (Date.now() - tickStart)));
    }
    await sleep(500);
    measuring = false;
    clearInterval(sampleRss);
    const statsRss = Math.max(...rss);
    latencies.sort((x, y) => x - y);
    const expected = STATS_SECONDS * SUBSCRIBERS;

    // --- log ingestion ---
    const lineLatencies: number[] = [];
    let received = 0;
    let lastReceipt = 0;
    for (const app of logApps) {
      sockets.push(
        await connect(`${base}/api/apps/${app.appId}/ws/logs`, { token }, (s) =>
          s.on('lines', (lines: { text: string }[]) => {
            const now = Date.now();
            for (const l of lines) lineLatencies.push(now - Number(l.text.slice(2, l.text.indexOf(' '))));
            received += lines.length;
            lastReceipt = now;
          }),
        ),
      );
    }
    const logRss: number[] = [];
    const sampleLogRss = setInterval(() => logRss.push(rssMiB(cp.child.pid!)), 250);
    const started = Date.now();
    let sent = 0;
    let logRefused = 0;
    const makeBatch = (seq: number) => {
      const now = Date.now();
      return Array.from({ length: BATCH }, (_, i) => ({ seq: seq + i, ts: new Date(now).toISOString(), stream: 'stdout', text: `t=${now} line ${seq + i} ${PAD}`, truncated: false }));
    };
    await Promise.all(
      logApps.flatMap((app) => {
        let seq = 1;
        return Array.from({ length: IN_FLIGHT_PER_APP }, async () => {
          while (Date.now() - started < LOG_SECONDS * 1000) {
            const from = seq;
            seq += BATCH;
            const reply = await ack(app.agent, 'logs:lines', { containerId: app.containerId, appId: app.appId, deploymentId: app.deploymentId, lines: makeBatch(from) });
            if (reply.ok) sent += BATCH;
            else logRefused++;
          }
        });
      }),
    );
    await eventually('every line at its subscriber', async () => (received >= sent ? true : undefined), 60_000, 50).catch(() => undefined);
    clearInterval(sampleLogRss);
    const berthSeconds = (lastReceipt - started) / 1000;
    const berthRate = received / berthSeconds;
    lineLatencies.sort((x, y) => x - y);

    // --- the same lines, straight into PostgreSQL ---
    const raw = new Client({ connectionString: db.url });
    await raw.connect();
    await raw.query(`CREATE TABLE bench_raw_logs (LIKE runtime_logs INCLUDING ALL)`);
    const rawStarted = Date.now();
    let rawSent = 0;
    const rawClients = await Promise.all(
      Array.from({ length: LOG_APPS }, async () => {
        const c = new Client({ connectionString: db.url });
        await c.connect();
        return c;
      }),
    );
    await Promise.all(
      rawClients.map(async (c, a) => {
        for (let seq = 1; rawSent < sent; seq += BATCH) {
          const lines = makeBatch(seq);
          await c.query(
            `INSERT INTO bench_raw_logs (app_id, deployment_id, container_id, seq, ts, stream, text, truncated, received_at)
             SELECT $1, $2, $3, l.seq, l.ts, l.stream, l.text, l.truncated, now()
             FROM unnest($4::bigint[], $5::timestamptz[], $6::text[], $7::text[], $8::boolean[]) AS l(seq, ts, stream, text, truncated)
             ON CONFLICT (container_id, seq) DO NOTHING`,
            [logApps[a].appId, logApps[a].deploymentId, logApps[a].containerId, lines.map((l) => l.seq), lines.map((l) => l.ts), lines.map((l) => l.stream), lines.map((l) => l.text), lines.map((l) => l.truncated)],
          );
          rawSent += BATCH;
        }
      }),
    );
    const rawRate = rawSent / ((Date.now() - rawStarted) / 1000);
    await Promise.all(rawClients.map((c) => c.end()));
    await raw.end();

    return [
      {
        benchmark: 'telemetry',
        metric: `stats delivery p99 (${SUBSCRIBERS} subscribers, ${STATS_APPS} apps, 1 Hz)`,
        value: percentile(latencies, 99),
        unit: 'ms',
        goal: '<= 100',
        note: `p50 ${percentile(latencies, 50)} ms, max ${latencies[latencies.length - 1]} ms; ${latencies.length}/${expected} pushes received over ${STATS_SECONDS} s; ${refused} ticks refused`,
      },
      { benchmark: 'telemetry', metric: 'control-plane peak RSS during stats fan-out', value: statsRss, unit: 'MiB' },
      {
        benchmark: 'telemetry',
        metric: `log lines/s, fake agent -> control plane -> PostgreSQL -> socket.io (${LOG_APPS} apps, batches of ${BATCH}; the goal is runtime-logs')`,
        value: berthRate,
        unit: 'lines/s',
        note: `${received}/${sent} lines received in ${berthSeconds.toFixed(1)} s; ${logRefused} batches refused`,
      },
      {
        benchmark: 'telemetry',
        metric: 'log line latency p99, fake agent send -> subscriber',
        value: percentile(lineLatencies, 99),
        unit: 'ms',
        note: `p50 ${percentile(lineLatencies, 50)} ms`,
      },
      {
        benchmark: 'telemetry',
        metric: 'raw multi-row INSERT of the same lines',
        value: rawRate,
        unit: 'lines/s',
        note: `Berth end to end is ${(berthRate / rawRate).toFixed(2)}x the raw insert rate`,
      },
      { benchmark: 'telemetry', metric: 'control-plane peak RSS during log ingestion', value: Math.max(...logRss), unit: 'MiB' },
    ];
  } finally {
    for (const s of sockets) s.close();
    await cp.stop();
    await db.drop();
  }
}
