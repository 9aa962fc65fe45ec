export interface WorkerCapacity {
  memoryMb: number;
  cpus: number;
}

export type WorkerStatus = 'registered' | 'online' | 'offline';

export interface WorkerView {
  id: string;
  name: string;
  zone?: string;
  status: WorkerStatus;
  capacity?: WorkerCapacity;
  /** Memory of the apps placed on this worker, by their memoryMb. */
  allocatedMemoryMb: number;
  advertiseIp?: string;
  lastHeartbeatAt?: string;
  createdAt: string;
}
