/**
 * Runtime logs end to end, as seed 3 has them flow (goals >= 50,000 lines/s sustained, p99 line
 * latency <= 500 ms, control plane + agent <= 250 MB): a real app container built FROM the busybox
 * base image prints LINES lines as fast as it can; the real agent follows it and ships the
 * lines to the real control plane, which stores them in PostgreSQL and pushes them to a socket.io
 * subscriber of /api/apps/:id/ws/logs. Measured:
 * - lines/s from the first line's Docker stamp to the last line's receipt by the subscriber;
 * - each line's latency, its Docker stamp (when dockerd read it from the container) -> receipt;
 * - beside it, in the same run, a raw `COPY ... FROM STDIN` (psql) of as many lines into a copy of
 *   `runtime_logs`, as a ratio;
 * - the CPU each process spent during it: the writer (its cgroup), dockerd (+ containerd and the
 *   container's shim), the agent, the control plane and PostgreSQL (from /proc), the subscriber;
 * - the peak RSS of the control plane, of the agent, and of the two together.
 * Side by side: with the agent reading logs through the Engine's logs API, then from the json-file
 * log (the default, written by busybox awk, whose output is buffered); the same lines written by a sh
 * loop, one write a line; both writers paced below the pipeline's rate; and the default with V8's own
 * heap settings.
 */
import { execFile, spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { io, type Socket } from 'socket.io-client';
import { BUSYBOX_IMAGE, docker, ensureBusyboxImage } from '../test/support/docker';
import { eventually } from '../test/support/processes';
import { rssMiB, startPlatform } from './support/platform';
import { percentile, type BenchRow } from './support/table';

const exec = promisify(execFile);
const LINES = Number(process.env.BERTH_BENCH_LOG_LINES ?? 600_000);
const IMAGE = 'berth-bench/log-flood:latest';
/** The line the app prints, after its number: a typical access-log line. */
const TAIL = 'GET /api/items?page=2 200 3.1 ms';
const LINE = /^(\d+) GET \/api\/items\?page=2 200 3\.1 ms$/;
const TICKS = 100; // USER_HZ on Linux
/** The paced runs' writers: this many lines between 20 ms pauses (sh, then awk, whose pause spawns a shell). */
const PACE = Number(process.env.BERTH_BENCH_LOG_PACE ?? 1_500);
const AWK_PACE = Number(process.env.BERTH_BENCH_LOG_AWK_PACE ?? 2_000);

/** utime + stime of a process, in seconds; 0 once it is gone. */
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS;
  } catch {
    return 0;
  }
}

/** Pids whose command name is one of `names`. */
function pidsNamed(names: string[]): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (names.includes(readFileSync(`/proc/${entry}/comm`, 'utf8').trim())) out.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return out;
}

/** CPU seconds the container's own processes (the writer) used, from its cgroup; undefined where it is not found. */
function containerCpuSeconds(id: string): number | undefined {
  const v1 = [`/sys/fs/cgroup/cpuacct/docker/${id}/cpuacct.usage`, `/sys/fs/cgroup/cpu,cpuacct/docker/${id}/cpuacct.usage`];
  for (const f of v1) {
    try {
      return Number(readFileSync(f, 'utf8')) / 1e9;
    } catch {
      // Not this layout.
    }
  }
  for (const f of [`/sys/fs/cgroup/system.slice/docker-${id}.scope/cpu.stat`, `/sys/fs/cgroup/docker/${id}/cpu.stat`]) {
    try {
      const m = /usage_usec (\d+)/.exec(readFileSync(f, 'utf8'));
      if (m) return Number(m[1]) / 1e6;
    } catch {
      // Not this layout.
    }
  }
  return undefined;
}

const parentOf = (pid: number): number => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
};

async function buildFloodImage(): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'berth-bench-flood-'));
  try {
    const script = [
      'busybox httpd -p 8080 -h /www',
      // Says it is ready, then waits for the go: the subscriber saw that line and the samplers run.
      'echo flood ready',
      'while [ ! -e /tmp/go ]; do busybox usleep 20000; done',
      // PACE (lines between 20 ms pauses) slows the writer down to a rate the pipeline can keep up with.
      'if [ "$WRITER" = awk ]; then',
      `  busybox awk -v pace="\${PACE:-0}" 'BEGIN { for (i = 1; i <= ${LINES}; i++) { print i " ${TAIL}"; if (pace > 0 && i % pace == 0) { fflush(); system("busybox usleep 20000") } } }'`,
      'elif [ -z "$PACE" ]; then',
      `  i=0; while [ $i -lt ${LINES} ]; do i=$((i+1)); echo "$i ${TAIL}"; done`,
      'else',
      `  i=0; while [ $i -lt ${LINES} ]; do i=$((i+1)); echo "$i ${TAIL}"; [ $((i % PACE)) = 0 ] && busybox usleep 20000; done`,
      'fi',
      'exec busybox sleep 3600',
    ].join('\n');
    await writeFile(path.join(dir, 'index.html'), 'flood\n');
    await writeFile(
      path.join(dir, 'Dockerfile'),
      [`FROM ${BUSYBOX_IMAGE}`, 'COPY index.html /www/index.html', 'EXPOSE 8080', `CMD ${JSON.stringify(['busybox', 'sh', '-c', script])}`, ''].join('\n'),
    );
    await exec('docker', ['build', '-q', '-t', IMAGE, dir]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** `COPY runtime_logs-like table FROM STDIN` of `count` lines through psql; lines/s. */
async function rawCopy(databaseUrl: string, target: { appId: string; deploymentId: string; containerId: string }, count: number): Promise<number> {
  const db = new Client({ connectionString: databaseUrl });
  await db.connect();
  await db.query('CREATE TABLE bench_raw_logs (LIKE runtime_logs INCLUDING ALL)');
  await db.end();
  const started = performance.now();
  await new Promise<void>((resolve, reject) => {
    const psql = spawn('psql', [databaseUrl, '-v', 'ON_ERROR_STOP=1', '-q', '-c', 'COPY bench_raw_logs (app_id, deployment_id, container_id, seq, ts, stream, text, truncated, received_at) FROM STDIN'], {
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    let err = '';
    psql.stderr.on('data', (d: Buffer) => (err += d.toString()));
    psql.on('error', reject);
    psql.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`psql COPY exited ${code}: ${err}`))));
    const prefix = `${target.appId}\t${target.deploymentId}\t${target.containerId}\t`;
    const now = new Date().toISOString();
    let seq = 0;
    const write = () => {
      while (seq < count) {
        let chunk = '';
        for (let i = 0; i < 2_000 && seq < count; i++) {
          seq++;
          chunk += `${prefix}${seq}\t${now}\tstdout\t${seq} ${TAIL}\tf\t${now}\n`;
        }
        if (!psql.stdin.write(chunk)) return void psql.stdin.once('drain', write);
      }
      psql.stdin.end();
    };
    write();
  });
  return count / ((performance.now() - started) / 1000);
}

interface Measured {
  rate: number;
  received: number;
  duplicates: number;
  stored: number;
  seconds: number;
  latencies: number[];
  engineCpu: number;
  pgCpu: number;
  agentCpu: number;
  cpCpu: number;
  /** The container's processes: the writer. */
  writerCpu?: number;
  /** This process: the subscriber's socket.io client and the bookkeeping of each line. */
  subscriberCpu: number;
  rss: { cp: number; agent: number; both: number };
  load: [number, number];
  disconnected?: string;
  rawRate?: number;
}

/** How one flood runs. */
interface FloodRun {
  /** Where the agent reads logs from (BERTH_LOG_SOURCE). */
  source: 'engine' | 'auto';
  /** The app's writer: busybox awk, whose output is buffered, or a busybox sh loop that writes each line with its own echo. */
  writer: 'awk' | 'sh';
  /** This many lines between 20 ms pauses. */
  pace?: number;
  /** Then the raw COPY baseline. */
  rawCopy?: boolean;
  /** V8 flags of both processes instead of scripts/node-flags.json. */
  nodeFlags?: readonly string[];
}

/** One flood through a fresh Berth. */
async function measure(run: FloodRun): Promise<Measured> {
  const { source, writer, pace, nodeFlags } = run;
  const platform = await startPlatform({ BERTH_LOG_SOURCE: source }, nodeFlags);
  let subscriber: Socket | undefined;
  try {
    const app = await platform.api('/api/apps', {
      json: { name: 'log-flood', source: { type: 'image', image: IMAGE }, port: 8080, memoryMb: 64, env: { WRITER: writer, ...(pace ? { PACE: String(pace) } : {}) } },
    });
    if (app.status !== 201) throw new Error(`creating the app answered ${app.status}: ${JSON.stringify(app.body)}`);
    const appId: string = app.body.id;
    const d = await platform.api(`/api/apps/${appId}/deployments`, { method: 'POST' });
    const deployed = await platform.waitDeployment(d.body.id);
    if (deployed.status !== 'succeeded') throw new Error(`the flood app did not deploy: ${deployed.reason}`);
    const [container] = await docker.listContainers({ filters: { label: [`berth.app=${appId}`] } });
    if (!container) throw new Error('the flood app has no running container');
    const info = await docker.getContainer(container.Id).inspect();

    // The subscriber: every line it is pushed, with its latency from Docker's stamp.
    const latencies: number[] = [];
    const seen = new Uint8Array(LINES + 1);
    let received = 0;
    let duplicates = 0;
    let firstStamp = Infinity;
    let lastReceipt = 0;
    let disconnected: string | undefined;
    let ready = false;
    subscriber = await new Promise<Socket>((resolve, reject) => {
      const s = io(`${platform.base}/api/apps/${appId}/ws/logs`, { auth: { token: platform.adminToken }, transports: ['websocket'], reconnection: false, forceNew: true });
      s.on('lines', (lines: { ts: string; text: string }[]) => {
        const now = Date.now();
        for (const l of lines) {
          if (l.text === 'flood ready') ready = true;
          const m = LINE.exec(l.text);
          if (!m) continue;
          const n = Number(m[1]);
          if (seen[n]) {
            duplicates++;
            continue;
          }
          seen[n] = 1;
          received++;
          const stamp = Date.parse(l.ts);
          if (stamp < firstStamp) firstStamp = stamp;
          latencies.push(now - stamp);
        }
        lastReceipt = now;
      });
      s.on('disconnect', (reason) => (disconnected = reason));
      s.once('connect', () => resolve(s));
      s.once('connect_error', reject);
    });

    await eventually('the app\'s first line at the subscriber', async () => (ready ? true : undefined), 60_000, 50);

    // CPU and memory while the lines flow.
    const cpPid = platform.cp.child.pid!;
    const agentPid = platform.agent.child.pid!;
    const shimPid = parentOf(info.State.Pid);
    const enginePids = [...pidsNamed(['dockerd', 'containerd']), shimPid];
    const cpuOf = (pids: number[]) => pids.reduce((sum, p) => sum + cpuSeconds(p), 0);
    const engineCpu0 = cpuOf(enginePids);
    // Every PostgreSQL process (backends, WAL writer, checkpointer), sampled again at the end for new backends.
    const pgCpu0 = new Map(pidsNamed(['postgres']).map((p) => [p, cpuSeconds(p)]));
    const agentCpu0 = cpuSeconds(agentPid);
    const cpCpu0 = cpuSeconds(cpPid);
    const writerCpu0 = containerCpuSeconds(container.Id);
    const subscriberCpu0 = process.cpuUsage();
    const rss = { cp: 0, agent: 0, both: 0 };
    const sampleRss = setInterval(() => {
      const cp = rssMiB(cpPid);
      const agent = rssMiB(agentPid);
      rss.cp = Math.max(rss.cp, cp);
      rss.agent = Math.max(rss.agent, agent);
      rss.both = Math.max(rss.both, cp + agent);
    }, 200);
    const load0 = os.loadavg()[0];

    await exec('docker', ['exec', container.Id, 'busybox', 'touch', '/tmp/go']);
    // BERTH_BENCH_TRACE=1: every 500 ms, lines stored and received and both RSS, to see where lines wait.
    const traceDb = process.env.BERTH_BENCH_TRACE ? new Client({ connectionString: platform.databaseUrl }) : undefined;
    await traceDb?.connect();
    const trace = traceDb
      ? setInterval(() => {
          void traceDb.query('SELECT count(*) AS n FROM runtime_logs').then((r) => process.stderr.write(`${source} stored ${r.rows[0].n} received ${received} cp ${rssMiB(cpPid).toFixed(0)} agent ${rssMiB(agentPid).toFixed(0)}\n`));
        }, 500)
      : undefined;
    let lastCount = -1;
    let lastProgress = Date.now();
    await eventually(
      `all ${LINES} lines at the subscriber`,
      async () => {
        if (received >= LINES) return true;
        if (received !== lastCount) {
          lastCount = received;
          lastProgress = Date.now();
        }
        // No new line for 30 s: the rest is lost; report what arrived.
        return Date.now() - lastProgress > 30_000 ? true : undefined;
      },
      30 * 60_000,
      50,
    );
    clearInterval(sampleRss);
    clearInterval(trace);
    await traceDb?.end();
    const engineCpu = cpuOf(enginePids) - engineCpu0;
    const pgCpu = pidsNamed(['postgres']).reduce((sum, p) => sum + cpuSeconds(p) - (pgCpu0.get(p) ?? 0), 0);
    const agentCpu = cpuSeconds(agentPid) - agentCpu0;
    const cpCpu = cpuSeconds(cpPid) - cpCpu0;
    const writerCpu1 = containerCpuSeconds(container.Id);
    const writerCpu = writerCpu0 !== undefined && writerCpu1 !== undefined ? writerCpu1 - writerCpu0 : undefined;
    const subscriberUsage = process.cpuUsage(subscriberCpu0);
    const subscriberCpu = (subscriberUsage.user + subscriberUsage.system) / 1e6;
    const load1 = os.loadavg()[0];
    const seconds = (lastReceipt - firstStamp) / 1000;
    const rate = received / seconds;
    latencies.sort((a, b) => a - b);

    const db = new Client({ connectionString: platform.databaseUrl });
    await db.connect();
    const stored = Number((await db.query('SELECT count(*) AS n FROM runtime_logs WHERE app_id = $1', [appId])).rows[0].n);
    await db.end();
    const rawRate = run.rawCopy ? await rawCopy(platform.databaseUrl, { appId, deploymentId: d.body.id, containerId: container.Id }, LINES) : undefined;
    return { rate, received, duplicates, stored, seconds, latencies, engineCpu, pgCpu, agentCpu, cpCpu, writerCpu, subscriberCpu, rss, load: [load0, load1], disconnected, rawRate };
  } finally {
    subscriber?.close();
    await platform.close();
  }
}

export async function run(): Promise<BenchRow[]> {
  // The flood image is built FROM the base image, which a fresh machine does not have yet.
  await ensureBusyboxImage();
  await buildFloodImage();
  try {
    // Side by side: the Engine's logs API (how the agent read logs before), then the default.
    const engine = await measure({ source: 'engine', writer: 'awk' });
    const auto = await measure({ source: 'auto', writer: 'awk', rawCopy: true });
    // The same lines written one echo at a time: the writer's own CPU and many small writes to dockerd.
    const perLine = await measure({ source: 'auto', writer: 'sh' });
    // The latency goal at the throughput goal's pace: 1,500 lines, then 20 ms of quiet (near 50k lines/s).
    const paced = await measure({ source: 'auto', writer: 'sh', pace: PACE });
    // The same, faster: awk writes 2,000 lines between pauses (about 36k lines/s on the AMD EPYC machine).
    const pacedAwk = await measure({ source: 'auto', writer: 'awk', pace: AWK_PACE });
    // The default run again with V8's own heap settings instead of scripts/node-flags.json.
    const v8Defaults = await measure({ source: 'auto', writer: 'awk', nodeFlags: [] });
    const rawRate = auto.rawRate!;
    const b = `runtime logs, ${LINES / 1000}k lines from one container`;
    const rows: BenchRow[] = [];
    for (const [name, m] of [['Engine logs API', engine], ['json-file (default)', auto], ['json-file, writer sh (one write a line)', perLine]] as const) {
      const per100k = (s: number) => ((s * 100_000) / Math.max(m.received, 1)).toFixed(2);
      const goal = m === auto;
      rows.push(
        {
          benchmark: b,
          metric: `${name}: lines/s, container -> agent -> control plane -> PostgreSQL -> socket.io`,
          value: m.rate,
          unit: 'lines/s',
          ...(goal ? { goal: '>= 50000' } : {}),
          note: `${(m.rate / rawRate).toFixed(2)}x raw COPY; ${m.received}/${LINES} received (${m.duplicates} twice, ${m.stored} stored) in ${m.seconds.toFixed(1)} s; load ${m.load[0].toFixed(2)} -> ${m.load[1].toFixed(2)}${m.disconnected ? `; subscriber disconnected: ${m.disconnected}` : ''}`,
        },
        {
          benchmark: b,
          metric: `${name}: line latency p99, Docker stamp -> subscriber`,
          value: percentile(m.latencies, 99),
          unit: 'ms',
          ...(goal ? { goal: '<= 500' } : {}),
          note: `p50 ${percentile(m.latencies, 50)} ms, max ${m.latencies[m.latencies.length - 1]} ms`,
        },
        { benchmark: b, metric: `${name}: dockerd + containerd + shim CPU`, value: m.engineCpu, unit: 's', note: `${per100k(m.engineCpu)} s per 100k lines` },
        { benchmark: b, metric: `${name}: agent CPU`, value: m.agentCpu, unit: 's', note: `${per100k(m.agentCpu)} s per 100k lines; control plane ${m.cpCpu.toFixed(1)} s (${per100k(m.cpCpu)} s per 100k); PostgreSQL ${m.pgCpu.toFixed(1)} s (${per100k(m.pgCpu)} s per 100k)` },
        {
          benchmark: b,
          metric: `${name}: CPU of every process while the lines flowed`,
          value: m.engineCpu + m.agentCpu + m.cpCpu + m.pgCpu + (m.writerCpu ?? 0) + m.subscriberCpu,
          unit: 's',
          note: `of ${(2 * m.seconds).toFixed(1)} s the two cores had; writer (the container) ${m.writerCpu === undefined ? 'not measured' : `${m.writerCpu.toFixed(1)} s`}, dockerd + containerd + shim ${m.engineCpu.toFixed(1)}, agent ${m.agentCpu.toFixed(1)}, control plane ${m.cpCpu.toFixed(1)}, PostgreSQL ${m.pgCpu.toFixed(1)}, subscriber (this process) ${m.subscriberCpu.toFixed(1)} s`,
        },
        {
          benchmark: b,
          metric: `${name}: control plane + agent peak RSS`,
          value: m.rss.both,
          unit: 'MiB',
          ...(goal ? { goal: '<= 238' } : {}),
          note: `goal 250 MB; control plane peak ${m.rss.cp.toFixed(0)} MiB, agent peak ${m.rss.agent.toFixed(0)} MiB`,
        },
      );
    }
    rows.push(
      ...([
        ['sh', PACE, paced],
        ['awk', AWK_PACE, pacedAwk],
      ] as const).map(([writer, pace, m]) => ({
        benchmark: b,
        metric: `json-file, writer ${writer} paced (${pace} lines, then 20 ms of quiet): line latency p99`,
        value: percentile(m.latencies, 99),
        unit: 'ms',
        goal: '<= 500',
        note: `p50 ${percentile(m.latencies, 50)} ms; ${m.rate.toFixed(0)} lines/s, ${m.received}/${LINES} received in ${m.seconds.toFixed(1)} s; peak RSS cp + agent ${m.rss.both.toFixed(0)} MiB`,
      })),
      {
        benchmark: b,
        metric: 'json-file, V8 heap defaults instead of scripts/node-flags.json: control plane + agent peak RSS',
        value: v8Defaults.rss.both,
        unit: 'MiB',
        note: `control plane peak ${v8Defaults.rss.cp.toFixed(0)} MiB, agent peak ${v8Defaults.rss.agent.toFixed(0)} MiB; ${v8Defaults.rate.toFixed(0)} lines/s; CPU control plane ${v8Defaults.cpCpu.toFixed(1)} s, agent ${v8Defaults.agentCpu.toFixed(1)} s`,
      },
      { benchmark: b, metric: 'raw COPY of as many lines into PostgreSQL (psql), same run', value: rawRate, unit: 'lines/s' },
    );
    return rows;
  } finally {
    await exec('docker', ['rmi', IMAGE]).catch(() => undefined);
  }
}
