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
  /** The apps placed here: serving (`running`), being deployed (`deploying`), or stopped by an outage. */
  apps: WorkerAppView[];
  createdAt: string;
}

export interface WorkerAppView {
  appId: string;
  name: string;
  deploymentId: string;
  state: 'running' | 'deploying' | 'stopped';
}
