import type { WorkerSnapshot } from './scheduler';

/** For scheduler specs: an online worker with nothing placed on it yet. */
export const workerSnapshot = (workerId: string, capacityMemoryMb: number, extra: Partial<WorkerSnapshot> = {}): WorkerSnapshot => ({
  workerId,
  name: workerId,
  online: true,
  capacityMemoryMb,
  placedMemoryMb: 0,
  ...extra,
});
