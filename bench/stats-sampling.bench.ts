/**
 * What sampling stats costs at 100 containers, every 5 s: the Engine's stats API (one
 * `stream=false&one-shot=true` call per container) against the containers' cgroup files (as
 * cAdvisor reads them). Agent CPU from process.cpuUsage(); the Engine's side (dockerd, containerd
 * and the containers' shims, which answer stats calls) from /proc/<pid>/stat over the same window,
 * less what it spends idle over a window of the same length.
 */
import { readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import { randomBytes } from 'node:crypto';
import { systemClock } from '@berth/core';
import { DockerStatsSampler } from '../apps/worker-agent/src/runtimes/docker/docker-stats';
import type { StatsSource } from '../apps/worker-agent/src/runtimes/docker/docker-stats';
import type { StatsTarget } from '../apps/worker-agent/src/runtimes/runtime';
import { BUSYBOX_IMAGE, docker, ensureBusyboxImage, removeContainersByLabel } from '../test/support/docker';
import type { BenchRow } from './support/table';

const CONTAINERS = Number(process.env.BERTH_BENCH_STATS_CONTAINERS ?? 100);
const INTERVAL_MS = 5_000;
const TICKS = Number(process.env.BERTH_BENCH_STATS_TICKS ?? 6);
const LABEL = 'berth.bench.stats-sampling';
const CLOCK_TICKS_PER_S = 100;
const ENGINE_PROCESSES = new Set(['dockerd', 'containerd', 'containerd-shim']);

/** CPU seconds (user + system) used so far by every process of the Engine, and by dockerd alone. */
function engineCpuSeconds(): { engine: number; dockerd: number } {
  let engine = 0;
  let dockerd = 0;
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue;
    }
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    if (!ENGINE_PROCESSES.has(comm)) continue;
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const seconds = (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_S;
    engine += seconds;
    if (comm === 'dockerd') dockerd += seconds;
  }
  return { engine, dockerd };
}

interface Window {
  agentPct: number;
  dockerdPct: number;
  enginePct: number;
  tickMs: number[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** TICKS ticks of INTERVAL_MS; sample() runs at each (none for the idle baseline). */
async function measure(sample?: () => Promise<unknown>): Promise<Window> {
  const engineBefore = engineCpuSeconds();
  const agentBefore = process.cpuUsage();
  const started = performance.now();
  const tickMs: number[] = [];
  for (let i = 0; i < TICKS; i++) {
    const tickStart = performance.now();
    if (sample) await sample();
    tickMs.push(performance.now() - tickStart);
    await sleep(Math.max(0, started + (i + 1) * INTERVAL_MS - performance.now()));
  }
  const wallS = (performance.now() - started) / 1000;
  const agent = process.cpuUsage(agentBefore);
  const engineAfter = engineCpuSeconds();
  return {
    agentPct: ((agent.user + agent.system) / 1e6 / wallS) * 100,
    dockerdPct: ((engineAfter.dockerd - engineBefore.dockerd) / wallS) * 100,
    enginePct: ((engineAfter.engine - engineBefore.engine) / wallS) * 100,
    tickMs,
  };
}

async function startContainers(run: string): Promise<StatsTarget[]> {
  const targets: StatsTarget[] = [];
  for (let i = 0; i < CONTAINERS; i += 10) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(10, CONTAINERS - i) }, async () => {
        const c = await docker.createContainer({
          Image: BUSYBOX_IMAGE,
          Cmd: ['sh', '-c', 'while :; do sleep 1; done'],
          Labels: { [LABEL]: run },
          HostConfig: { Memory: 16 * 1024 * 1024, Init: true },
        });
        await c.start();
        return { containerId: c.id, appId: `bench-${run}`, deploymentId: `bench-${run}` };
      }),
    );
    targets.push(...batch);
  }
  return targets;
}

export async function run(): Promise<BenchRow[]> {
  await ensureBusyboxImage();
  const run = randomBytes(4).toString('hex');
  const b = `stats sampling, ${CONTAINERS} containers every ${INTERVAL_MS / 1000} s`;
  try {
    const targets = await startContainers(run);
    await sleep(5_000); // let the starts settle
    const idle = await measure();
    const rows: BenchRow[] = [
      { benchmark: b, metric: 'idle: agent (this process) CPU', value: idle.agentPct, unit: '% of a core' },
      { benchmark: b, metric: 'idle: Engine side CPU (dockerd+containerd+shims)', value: idle.enginePct, unit: '% of a core' },
    ];
    const methods: [string, StatsSource, number | undefined][] = [
      ['engine, 8 calls at once', 'engine', 8],
      ['engine', 'engine', undefined],
      ['cgroup', 'cgroup', undefined],
    ];
    for (const [name, source, engineConcurrency] of methods) {
      const sampler = new DockerStatsSampler({ docker, clock: systemClock, source, engineConcurrency });
      await sampler.sample(targets); // first reading: inspects, finds the files, primes CPU %
      let samples = 0;
      const w = await measure(async () => {
        samples = (await sampler.sample(targets)).length;
      });
      const sorted = [...w.tickMs].sort((x, y) => x - y);
      const late = w.tickMs.filter((ms) => ms > INTERVAL_MS).length;
      const note = `${samples}/${CONTAINERS} sampled per tick${source === 'cgroup' ? `, ${sampler.cgroupReadable} from files` : ''}${late ? `; ${late}/${TICKS} ticks overran ${INTERVAL_MS / 1000} s` : ''}`;
      rows.push(
        { benchmark: b, metric: `${name}: agent CPU`, value: w.agentPct, unit: '% of a core', goal: '<= 2', note },
        { benchmark: b, metric: `${name}: dockerd CPU, above idle`, value: w.dockerdPct - idle.dockerdPct, unit: '% of a core' },
        { benchmark: b, metric: `${name}: Engine side CPU, above idle`, value: w.enginePct - idle.enginePct, unit: '% of a core', note: 'dockerd + containerd + shims' },
        { benchmark: b, metric: `${name}: time to sample all (median)`, value: sorted[Math.floor(sorted.length / 2)]!, unit: 'ms', note: `max ${sorted.at(-1)!.toFixed(0)} ms` },
      );
    }
    rows.push({ benchmark: b, metric: 'machine', value: os.cpus().length, unit: 'cores', note: 'shared; figures are noisy' });
    return rows;
  } finally {
    await removeContainersByLabel(`${LABEL}=${run}`);
  }
}
