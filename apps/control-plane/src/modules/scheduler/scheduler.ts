/**
 * Placement: state in, plan out (Nomad's shape). Pure: no NestJS, no database, no clock.
 *
 * For each queued deployment, in the order given, pick the online worker with the most free memory
 * (capacity minus what is already placed there, counting what this plan placed a moment ago), in the
 * deployment's zone when it names one. A deployment that fits nowhere waits, with a reason a person
 * can act on; it does not block the smaller deployments queued behind it.
 */
import { WorkerHeap } from './worker-heap';

export interface PendingDeployment {
  deploymentId: string;
  /** The app's zone; absent means any zone. */
  zone?: string;
  memoryMb: number;
}

export interface WorkerSnapshot {
  workerId: string;
  name: string;
  zone?: string;
  online: boolean;
  /** The memory the worker reported (hello / heartbeat). */
  capacityMemoryMb: number;
  /** Memory already placed there: running apps plus deployments assigned, building or starting. */
  placedMemoryMb: number;
}

export type Decision =
  | { kind: 'assign'; deploymentId: string; workerId: string; memoryMb: number }
  | { kind: 'wait'; deploymentId: string; reason: string };

export function schedule(pending: readonly PendingDeployment[], workers: readonly WorkerSnapshot[]): Decision[] {
  const online = workers.filter((w) => w.online);
  const free = new Float64Array(online.length);
  const anyZone = new WorkerHeap(free);
  const byZone = new Map<string, WorkerHeap>();
  online.forEach((w, i) => {
    free[i] = w.capacityMemoryMb - w.placedMemoryMb;
    anyZone.push(i);
    if (w.zone !== undefined) {
      let heap = byZone.get(w.zone);
      if (!heap) byZone.set(w.zone, (heap = new WorkerHeap(free)));
      heap.push(i);
    }
  });

  const decisions: Decision[] = new Array(pending.length);
  for (let d = 0; d < pending.length; d++) {
    const dep = pending[d];
    const heap = dep.zone === undefined ? anyZone : byZone.get(dep.zone);
    const best = heap ? heap.peek() : -1;
    if (best < 0) {
      decisions[d] = { kind: 'wait', deploymentId: dep.deploymentId, reason: dep.zone === undefined ? 'no online worker' : `no online worker in zone ${dep.zone}` };
    } else if (free[best] < dep.memoryMb) {
      decisions[d] = { kind: 'wait', deploymentId: dep.deploymentId, reason: tooBig(dep, Math.max(0, free[best]), online[best].name) };
    } else {
      free[best] -= dep.memoryMb;
      decisions[d] = { kind: 'assign', deploymentId: dep.deploymentId, workerId: online[best].workerId, memoryMb: dep.memoryMb };
    }
  }
  return decisions;
}

function tooBig(dep: PendingDeployment, largestFree: number, on: string): string {
  const where = dep.zone === undefined ? 'no online worker' : `no online worker in zone ${dep.zone}`;
  return `${where} has ${dep.memoryMb} MB free (largest free: ${largestFree} MB on ${on})`;
}
