/**
 * Placement speed of the pure scheduler: 10,000 queued deployments over 1,000 online workers in
 * several zones (a quarter of the deployments name no zone). Median of several runs.
 */
import { performance } from 'node:perf_hooks';
import { schedule, type PendingDeployment, type WorkerSnapshot } from '../apps/control-plane/src/modules/scheduler/scheduler';
import type { BenchRow } from './support/table';

const WORKERS = 1_000;
const DEPLOYMENTS = 10_000;
const ZONES = ['de', 'fr', 'us-east', 'us-west', 'sg'];
const RUNS = 7;

function fixture(seed: number): { workers: WorkerSnapshot[]; pending: PendingDeployment[] } {
  let s = seed;
  const rand = (n: number) => ((s = (s * 1103515245 + 12345) % 2 ** 31), s % n);
  const workers = Array.from({ length: WORKERS }, (_, i) => ({
    workerId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    name: `worker-${i}`,
    zone: ZONES[i % ZONES.length],
    online: true,
    capacityMemoryMb: 4096 * (1 + rand(4)),
    placedMemoryMb: 128 * rand(8),
  }));
  const pending = Array.from({ length: DEPLOYMENTS }, (_, i) => ({
    deploymentId: `10000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    zone: rand(4) === 0 ? undefined : ZONES[rand(ZONES.length)],
    memoryMb: 128 * (1 + rand(8)),
  }));
  return { workers, pending };
}

export async function run(): Promise<BenchRow[]> {
  const rates: number[] = [];
  let placed = 0;
  // One warm-up run so the JIT has compiled the heap before anything is timed.
  for (let r = -1; r < RUNS; r++) {
    const { workers, pending } = fixture(1000 + r);
    const started = performance.now();
    const decisions = schedule(pending, workers);
    const seconds = (performance.now() - started) / 1000;
    if (r < 0) continue;
    placed = decisions.filter((x) => x.kind === 'assign').length;
    rates.push(decisions.length / seconds);
  }
  rates.sort((a, b) => a - b);
  const median = rates[Math.floor(rates.length / 2)];
  return [
    {
      benchmark: 'scheduler',
      metric: `placements/s (${DEPLOYMENTS} deployments, ${WORKERS} workers, ${ZONES.length} zones)`,
      value: median,
      unit: 'placements/s',
      goal: '>= 20000',
      note: `median of ${RUNS} runs (min ${rates[0].toFixed(0)}, max ${rates[rates.length - 1].toFixed(0)}); ${placed} of ${DEPLOYMENTS} assigned in the last run`,
    },
  ];
}
