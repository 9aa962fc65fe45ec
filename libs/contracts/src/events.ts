import type { AppSource, AppSpec } from './app';
import type { WorkerCapacity } from './worker';

/**
 * Every event Berth records. Past tense, a string `type`, a JSON `data`.
 * Streams: `app-<id>`, `appname-<name>`, `deployment-<id>`, `worker-<id>`, `token-<id>`, `domain-<id>`,
 * `domainname-<hostname>`.
 */
export type AppEvent =
  | { type: 'AppCreated'; data: { appId: string; spec: AppSpec } }
  | { type: 'AppUpdated'; data: { appId: string; spec: AppSpec } }
  | { type: 'AppDeleted'; data: { appId: string } }
  /** The app's container stopped serving for a reason outside the app (its worker went offline). */
  | { type: 'AppStopped'; data: { appId: string; workerId: string; deploymentId?: string; reason: AppStoppedReason } }
  /** The stopped app's container serves again (its worker came back and the container was adopted). */
  | { type: 'AppRestored'; data: { appId: string; workerId: string; deploymentId: string } };

export type AppStoppedReason = 'worker_offline' | 'worker_removed';

/** Stream `appname-<name>`: makes app names unique without trusting a read model. */
export type AppNameEvent =
  | { type: 'AppNameClaimed'; data: { name: string; appId: string } }
  | { type: 'AppNameReleased'; data: { name: string; appId: string } };

export interface JobSpec {
  jobId: string;
  deploymentId: string;
  appId: string;
  app: AppSpec;
  /** A commit sha to deploy; absent means the head of app.source.branch. */
  commit?: string;
  /**
   * Build log lines already stored for this job (their highest seq). A job sent again after an agent
   * restart is run again; its lines are numbered after these so none is dropped as a duplicate.
   */
  logSeqStart?: number;
}

export type DeploymentEvent =
  | { type: 'DeploymentRequested'; data: { deploymentId: string; appId: string; app: AppSpec; commit?: string; trigger: 'api' | 'webhook' } }
  | { type: 'DeploymentWaiting'; data: { deploymentId: string; reason: string } }
  | { type: 'JobAssigned'; data: { deploymentId: string; jobId: string; workerId: string; memoryMb: number } }
  | { type: 'JobStarted'; data: { deploymentId: string; jobId: string; workerId: string; phase: 'building' | 'starting'; commit?: string } }
  | { type: 'ImageBuilt'; data: { deploymentId: string; jobId: string; image: string } }
  | { type: 'ContainerStarted'; data: { deploymentId: string; jobId: string; containerId: string; hostPort: number } }
  | { type: 'JobSucceeded'; data: { deploymentId: string; jobId: string; workerId: string; containerId: string; hostPort: number } }
  /** jobId and workerId are absent when the platform ended a deployment before it was placed (its app was deleted). */
  | { type: 'JobFailed'; data: { deploymentId: string; jobId?: string; workerId?: string; reason: string; logTail: string[] } }
  /**
   * The worker's own result for a job the platform had already failed (stuck-job recovery): recorded,
   * and it changes nothing — the deployment stays failed, and nothing re-runs it.
   */
  | { type: 'JobResultArrivedLate'; data: { deploymentId: string; jobId: string; workerId: string; result: 'succeeded' | 'failed'; containerId?: string; reason?: string } }
  /** A container of a succeeded deployment exited (reported by its agent with the exit code). */
  | { type: 'ContainerExited'; data: { deploymentId: string; appId: string; containerId: string; exitCode: number; at: string } };

export type WorkerEvent =
  | { type: 'WorkerRegistered'; data: { workerId: string; name: string; zone?: string; tokenHash: string } }
  | { type: 'WorkerCameOnline'; data: { workerId: string; capacity: WorkerCapacity; advertiseIp?: string } }
  /** lastHeartbeatAt: when the control plane last heard from the worker (absent when it went by a disconnect before any). */
  | { type: 'WorkerWentOffline'; data: { workerId: string; reason: string; lastHeartbeatAt?: string } }
  /** Drained: its token no longer works and its name is free. */
  | { type: 'WorkerRemoved'; data: { workerId: string; name: string; forced: boolean } };

/** Stream `workername-<name>`: makes worker names unique without trusting a read model. */
export type WorkerNameEvent =
  | { type: 'WorkerNameClaimed'; data: { name: string; workerId: string } }
  | { type: 'WorkerNameReleased'; data: { name: string; workerId: string } };

export type TokenEvent = { type: 'TokenIssued'; data: { tokenId: string; name: string; role: 'admin'; tokenHash: string } };

/** Stream `domain-<id>`: a custom domain of an app, from added to verified (routed) to removed. */
export type DomainEvent =
  | { type: 'DomainAdded'; data: { domainId: string; appId: string; hostname: string; token: string } }
  | { type: 'DomainVerified'; data: { domainId: string; appId: string; hostname: string } }
  /** A verified domain's TXT record no longer proves it: its route is withdrawn until it is verified again. */
  | { type: 'DomainUnrouted'; data: { domainId: string; appId: string; hostname: string; reason: string } }
  | { type: 'DomainRemoved'; data: { domainId: string; appId: string; hostname: string } };

/** Stream `domainname-<hostname>`: one app at a time holds a hostname, without trusting a read model. */
export type DomainNameEvent =
  | { type: 'DomainNameClaimed'; data: { hostname: string; domainId: string; appId: string } }
  | { type: 'DomainNameReleased'; data: { hostname: string; domainId: string } };

export type BerthEvent = AppEvent | AppNameEvent | DeploymentEvent | WorkerEvent | WorkerNameEvent | TokenEvent | DomainEvent | DomainNameEvent;
export type BerthEventType = BerthEvent['type'];
export type EventOfType<T extends BerthEventType> = Extract<BerthEvent, { type: T }>;

export const streamIds = {
  app: (id: string) => `app-${id}`,
  appName: (name: string) => `appname-${name}`,
  deployment: (id: string) => `deployment-${id}`,
  worker: (id: string) => `worker-${id}`,
  workerName: (name: string) => `workername-${name}`,
  token: (id: string) => `token-${id}`,
  domain: (id: string) => `domain-${id}`,
  domainName: (hostname: string) => `domainname-${hostname}`,
};

export type { AppSource };
