import type { AppSource, AppSpec } from './app';
import type { WorkerCapacity } from './worker';

/**
 * Every event Berth records. Past tense, a string `type`, a JSON `data`.
 * Streams: `app-<id>`, `appname-<name>`, `deployment-<id>`, `worker-<id>`, `token-<id>`,
 * `webhookdelivery-<provider>-<app id>-<delivery id>`.
 */
export type AppEvent =
  | { type: 'AppCreated'; data: { appId: string; spec: AppSpec } }
  | { type: 'AppUpdated'; data: { appId: string; spec: AppSpec } }
  | { type: 'AppDeleted'; data: { appId: string } }
  /** The app's webhook secret, set at creation and on rotation: AES-256-GCM ciphertext, never the secret itself. */
  | { type: 'WebhookSecretSet'; data: { appId: string; encrypted: string } };

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
  | { type: 'JobFailed'; data: { deploymentId: string; jobId?: string; workerId?: string; reason: string; logTail: string[] } };

export type WorkerEvent =
  | { type: 'WorkerRegistered'; data: { workerId: string; name: string; zone?: string; tokenHash: string } }
  | { type: 'WorkerCameOnline'; data: { workerId: string; capacity: WorkerCapacity; advertiseIp?: string } }
  | { type: 'WorkerWentOffline'; data: { workerId: string; reason: string } };

export type TokenEvent = { type: 'TokenIssued'; data: { tokenId: string; name: string; role: 'admin'; tokenHash: string } };

/**
 * Stream `webhookdelivery-<provider>-<app id>-<delivery id>`: a verified delivery, recorded once, so the same
 * delivery sent twice deploys once. `deploymentId` is set when it deploys (that deployment's
 * DeploymentRequested carries this event's id as causationId); `ignored` says why it did not.
 */
export type WebhookEvent = {
  type: 'WebhookReceived';
  data: { provider: string; deliveryId: string; appId: string; event: string; branch?: string; commit?: string; deploymentId?: string; ignored?: string };
};

export type BerthEvent = AppEvent | AppNameEvent | DeploymentEvent | WorkerEvent | TokenEvent | WebhookEvent;
export type BerthEventType = BerthEvent['type'];
export type EventOfType<T extends BerthEventType> = Extract<BerthEvent, { type: T }>;

export const streamIds = {
  app: (id: string) => `app-${id}`,
  appName: (name: string) => `appname-${name}`,
  deployment: (id: string) => `deployment-${id}`,
  worker: (id: string) => `worker-${id}`,
  token: (id: string) => `token-${id}`,
  webhookDelivery: (provider: string, appId: string, deliveryId: string) => `webhookdelivery-${provider}-${appId}-${deliveryId}`,
};

export type { AppSource };
