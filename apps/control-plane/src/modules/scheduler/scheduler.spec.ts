import { describe, expect, it } from 'vitest';
import { schedule, type Decision, type PendingDeployment, type WorkerSnapshot } from './scheduler';
import { workerSnapshot } from './scheduler.testing';

const w = workerSnapshot;
const d = (deploymentId: string, memoryMb: number, zone?: string): PendingDeployment => ({ deploymentId, memoryMb, ...(zone ? { zone } : {}) });
const assign = (deploymentId: string, workerId: string, memoryMb: number): Decision => ({ kind: 'assign', deploymentId, workerId, memoryMb });
const wait = (deploymentId: string, reason: string): Decision => ({ kind: 'wait', deploymentId, reason });

const cases: { name: string; pending: PendingDeployment[]; workers: WorkerSnapshot[]; expected: Decision[] }[] = [
  { name: 'nothing queued', pending: [], workers: [w('w1', 1024)], expected: [] },
  { name: 'no worker at all', pending: [d('d1', 256)], workers: [], expected: [wait('d1', 'no online worker')] },
  {
    name: 'only offline workers',
    pending: [d('d1', 256)],
    workers: [w('w1', 4096, { online: false })],
    expected: [wait('d1', 'no online worker')],
  },
  {
    name: 'the worker with the most free memory wins',
    pending: [d('d1', 256)],
    workers: [w('w1', 1024), w('w2', 2048, { placedMemoryMb: 512 }), w('w3', 1024, { placedMemoryMb: 900 })],
    expected: [assign('d1', 'w2', 256)],
  },
  {
    name: 'placements count toward the next choice',
    pending: [d('d1', 512), d('d2', 512), d('d3', 512)],
    workers: [w('w1', 1024), w('w2', 1536)],
    expected: [assign('d1', 'w2', 512), assign('d2', 'w1', 512), assign('d3', 'w2', 512)],
  },
  {
    name: 'ties go to the worker listed first',
    pending: [d('d1', 100), d('d2', 100)],
    workers: [w('w1', 1000), w('w2', 1000)],
    expected: [assign('d1', 'w1', 100), assign('d2', 'w2', 100)],
  },
  {
    name: 'an exact fit is placed',
    pending: [d('d1', 512)],
    workers: [w('w1', 1024, { placedMemoryMb: 512 })],
    expected: [assign('d1', 'w1', 512)],
  },
  {
    name: 'too big to fit anywhere waits with the largest free memory named',
    pending: [d('d1', 512)],
    workers: [w('w1', 1024, { placedMemoryMb: 724 }), w('w2', 256)],
    expected: [wait('d1', 'no online worker has 512 MB free (largest free: 300 MB on w1)')],
  },
  {
    name: 'a big deployment waiting does not block smaller ones behind it',
    pending: [d('d1', 4096), d('d2', 256)],
    workers: [w('w1', 1024)],
    expected: [wait('d1', 'no online worker has 4096 MB free (largest free: 1024 MB on w1)'), assign('d2', 'w1', 256)],
  },
  {
    name: 'a zone is respected even when another zone has more room',
    pending: [d('d1', 256, 'de')],
    workers: [w('w1', 8192, { zone: 'us' }), w('w2', 1024, { zone: 'de' })],
    expected: [assign('d1', 'w2', 256)],
  },
  {
    name: 'a zone without online workers',
    pending: [d('d1', 256, 'de')],
    workers: [w('w1', 8192, { zone: 'us' }), w('w2', 8192, { zone: 'de', online: false })],
    expected: [wait('d1', 'no online worker in zone de')],
  },
  {
    name: 'a zone whose workers are full',
    pending: [d('d1', 512, 'de'), d('d2', 512, 'de')],
    workers: [w('w1', 768, { zone: 'de' })],
    expected: [assign('d1', 'w1', 512), wait('d2', 'no online worker in zone de has 512 MB free (largest free: 256 MB on w1)')],
  },
  {
    name: 'a deployment without a zone may go to a zoned worker, and that placement counts in the zone',
    pending: [d('d1', 700), d('d2', 512, 'de')],
    workers: [w('w1', 1024, { zone: 'de' }), w('w2', 512)],
    expected: [assign('d1', 'w1', 700), wait('d2', 'no online worker in zone de has 512 MB free (largest free: 324 MB on w1)')],
  },
  {
    name: 'an over-committed worker reports zero free, not a negative number',
    pending: [d('d1', 256)],
    workers: [w('w1', 1024, { placedMemoryMb: 2048 })],
    expected: [wait('d1', 'no online worker has 256 MB free (largest free: 0 MB on w1)')],
  },
  {
    name: 'a worker is named by its name, not its id',
    pending: [d('d1', 2048)],
    workers: [w('0b6c', 1024, { name: 'rack-3' })],
    expected: [wait('d1', 'no online worker has 2048 MB free (largest free: 1024 MB on rack-3)')],
  },
];

describe('schedule', () => {
  it.each(cases)('$name', ({ pending, workers, expected }) => {
    expect(schedule(pending, workers)).toEqual(expected);
  });

  it('places exactly as a scan over every worker would, on a random mix of zones and sizes', () => {
    let seed = 42;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    const zones = ['de', 'us', 'fr', undefined];
    const workers = Array.from({ length: 60 }, (_, i) =>
      w(`w${i}`, 512 + 128 * rand(30), { zone: zones[rand(4)], online: rand(10) > 0, placedMemoryMb: 64 * rand(8) }),
    );
    const pending = Array.from({ length: 800 }, (_, i) => d(`d${i}`, 64 * (1 + rand(16)), zones[rand(4)]));
    expect(schedule(pending, workers)).toEqual(scanSchedule(pending, workers));
  });
});

/** The obvious O(deployments × workers) version, as the reference. */
function scanSchedule(pending: PendingDeployment[], workers: WorkerSnapshot[]): Decision[] {
  const free = new Map(workers.map((x) => [x.workerId, x.capacityMemoryMb - x.placedMemoryMb]));
  return pending.map((dep) => {
    const candidates = workers.filter((x) => x.online && (dep.zone === undefined || x.zone === dep.zone));
    const where = dep.zone === undefined ? 'no online worker' : `no online worker in zone ${dep.zone}`;
    if (candidates.length === 0) return wait(dep.deploymentId, where);
    let best = candidates[0];
    for (const c of candidates) if (free.get(c.workerId)! > free.get(best.workerId)!) best = c;
    const f = free.get(best.workerId)!;
    if (f < dep.memoryMb) return wait(dep.deploymentId, `${where} has ${dep.memoryMb} MB free (largest free: ${Math.max(0, f)} MB on ${best.name})`);
    free.set(best.workerId, f - dep.memoryMb);
    return assign(dep.deploymentId, best.workerId, dep.memoryMb);
  });
}
