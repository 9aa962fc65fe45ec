/**
 * 1,000 simulated agents (real socket.io clients with real worker tokens) heartbeating every 5 s against
 * one control-plane process: its CPU and RSS, and how late offline detection is for ten agents that stop
 * heartbeating but keep their socket open (the SIGSTOP case). Goal: p99 within grace + 5 s, and no worker
 * falsely marked offline over the run.
 */
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { io, type Socket } from 'socket.io-client';
import { HEARTBEAT_INTERVAL_MS } from '@berth/contracts';
import { createMigratedDatabase } from '../test/support/pg-admin';
import { eventually, freePort, startControlPlaneProcess } from '../test/support/processes';
import { rssMiB } from './support/platform';
import { percentile, type BenchRow } from './support/table';

const AGENTS = Number(process.env.BERTH_BENCH_AGENTS ?? 1000);
const STOPPING = 10;
const GRACE_MS = 15_000;
const STEADY_MS = Number(process.env.BERTH_BENCH_HEALTH_STEADY_MS ?? 30_000);
const CAPACITY = { memoryMb: 4096, cpus: 2 };

interface SimAgent {
  id: string;
  token: string;
  socket?: Socket;
  timer?: NodeJS.Timeout;
  lastBeatAt?: number;
  beatsFailed: number;
}

/** Jiffies of user + system CPU the process used so far (/proc/<pid>/stat). */
function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(fields[11]) + Number(fields[12]);
}
const TICKS_PER_S = 100;

async function inBatches<T>(items: T[], size: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map((x, j) => fn(x, i + j)));
}

function emit(socket: Socket, event: string, msg: unknown): Promise<{ ok: boolean }> {
  return socket.timeout(10_000).emitWithAck(event, msg) as Promise<{ ok: boolean }>;
}

export async function run(): Promise<BenchRow[]> {
  const db = await createMigratedDatabase('berth_bench_health');
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const adminToken = `bat_${randomBytes(18).toString('base64url')}`;
  const cp = startControlPlaneProcess({ databaseUrl: db.url, port, adminToken, extra: { BERTH_LOG_LEVEL: 'warn', BERTH_WORKER_GRACE_MS: String(GRACE_MS) } });
  const agents: SimAgent[] = [];
  const pg = new Client({ connectionString: db.url });
  try {
    await eventually('the control plane to answer', async () => ((await fetch(`${base}/healthz`)).ok ? true : undefined), 60_000);
    await pg.connect();
    const pid = cp.child.pid!;

    await inBatches([...Array(AGENTS).keys()], 25, async (i) => {
      const res = await fetch(`${base}/api/workers`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: `sim-${i}` }),
      });
      if (res.status !== 201) throw new Error(`registering sim-${i}: ${res.status} ${await res.text()}`);
      const body = (await res.json()) as { id: string; token: string };
      agents[i] = { id: body.id, token: body.token, beatsFailed: 0 };
    });

    const beat = async (a: SimAgent) => {
      try {
        const ack = await emit(a.socket!, 'heartbeat', { at: new Date().toISOString(), capacity: CAPACITY, runningContainers: 0 });
        if (ack.ok) a.lastBeatAt = Date.now();
        else a.beatsFailed++;
      } catch {
        a.beatsFailed++;
      }
    };
    const connectStarted = Date.now();
    await inBatches(agents, 50, async (a) => {
      a.socket = io(`${base}/agent`, { auth: { token: a.token }, transports: ['websocket'], reconnection: false, forceNew: true });
      await new Promise<void>((resolve, reject) => {
        a.socket!.once('connect', () => resolve());
        a.socket!.once('connect_error', reject);
      });
      const hello = await emit(a.socket, 'hello', { capacity: CAPACITY, advertiseIp: '127.0.0.1', agentVersion: 'bench', containers: [] });
      if (!hello.ok) throw new Error(`hello refused: ${JSON.stringify(hello)}`);
      await beat(a);
      // Heartbeats spread over the interval, as independent agents' would be.
      a.timer = setTimeout(() => {
        void beat(a);
        a.timer = setInterval(() => void beat(a), HEARTBEAT_INTERVAL_MS);
      }, Math.random() * HEARTBEAT_INTERVAL_MS);
    });
    const connectS = (Date.now() - connectStarted) / 1000;

    // Steady state: every agent heartbeats; CPU and RSS of the control plane.
    const rss: number[] = [];
    const sampler = setInterval(() => rss.push(rssMiB(pid)), 1_000);
    const t0 = Date.now();
    const c0 = cpuTicks(pid);
    await new Promise((r) => setTimeout(r, STEADY_MS));
    const steadyCpu = ((cpuTicks(pid) - c0) / TICKS_PER_S / ((Date.now() - t0) / 1000)) * 100;

    // Ten agents stop heartbeating and keep their sockets open.
    const stopped = agents.slice(0, STOPPING);
    for (const a of stopped) clearInterval(a.timer), clearTimeout(a.timer);
    const stoppedAt = Date.now();
    const stoppedIds = new Set(stopped.map((a) => a.id));
    const offline = await eventually(
      'the stopped agents to be marked offline',
      async () => {
        const { rows } = await pg.query<{ worker_id: string; at: Date }>(
          `SELECT data->>'workerId' AS worker_id, occurred_at AS at FROM events WHERE type = 'WorkerWentOffline'`,
        );
        return rows.filter((r) => stoppedIds.has(r.worker_id)).length >= STOPPING ? rows : undefined;
      },
      GRACE_MS + HEARTBEAT_INTERVAL_MS + 30_000,
      250,
    );
    const allCpu = ((cpuTicks(pid) - c0) / TICKS_PER_S / ((Date.now() - t0) / 1000)) * 100;
    clearInterval(sampler);
    const late = offline
      .filter((r) => stoppedIds.has(r.worker_id))
      .map((r) => (r.at.getTime() - stopped.find((a) => a.id === r.worker_id)!.lastBeatAt!) / 1000)
      .sort((x, y) => x - y);
    const falseOffline = offline.filter((r) => !stoppedIds.has(r.worker_id)).length;
    const failedBeats = agents.reduce((n, a) => n + a.beatsFailed, 0);
    const runS = (Date.now() - t0) / 1000;
    const note = `${AGENTS} agents, grace ${GRACE_MS / 1000} s, ${runS.toFixed(0)} s run`;
    return [
      { benchmark: 'worker health', metric: `connect + hello, ${AGENTS} agents`, value: connectS, unit: 's' },
      { benchmark: 'worker health', metric: 'control-plane CPU, steady heartbeats', value: steadyCpu, unit: '% of a core', note },
      { benchmark: 'worker health', metric: 'control-plane CPU, whole run', value: allCpu, unit: '% of a core', note },
      { benchmark: 'worker health', metric: 'control-plane RSS, max', value: Math.max(...rss), unit: 'MiB', note },
      { benchmark: 'worker health', metric: 'control-plane RSS, end', value: rss[rss.length - 1], unit: 'MiB', note },
      { benchmark: 'worker health', metric: 'offline detection after last heartbeat, p50', value: percentile(late, 50), unit: 's', note: `${late.length} stopped agents` },
      { benchmark: 'worker health', metric: 'offline detection after last heartbeat, p99', value: percentile(late, 99), unit: 's', goal: `<= ${(GRACE_MS + 5_000) / 1000}`, note: `stopped ${((stoppedAt - t0) / 1000).toFixed(0)} s into the run` },
      { benchmark: 'worker health', metric: 'workers falsely marked offline', value: falseOffline, unit: '', goal: '<= 0' },
      { benchmark: 'worker health', metric: 'heartbeats refused or unanswered', value: failedBeats, unit: '' },
    ];
  } finally {
    for (const a of agents) {
      if (!a) continue;
      clearInterval(a.timer);
      clearTimeout(a.timer);
      a.socket?.close();
    }
    await pg.end().catch(() => undefined);
    await cp.stop();
    await db.drop();
  }
}
