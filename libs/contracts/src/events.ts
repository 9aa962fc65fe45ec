import type { AppSource, AppSpec } from './app';
import type { WorkerCapacity } from './worker';

/**
 * Every event Berth records. Past tense, a string `type`, a JSON `data`.
 * Streams: `app-<id>`, `appname-<name>`, `deployment-<id>`, `worker-<id>`, `token-<id>`, `domain-<id>`,
 * `domainname-<hostname>`, `webhookdelivery-<provider>-<app id>-<delivery id>`.
 */
export type AppEvent =
  | { type: 'AppCreated'; data: { appId: string; spec: AppSpec } }
  | { type: 'AppUpdated'; data: { appId: string; spec: AppSpec } }
  | { type: 'AppDeleted'; data: { appId: string } }
  /** The app's container stopped serving for a reason outside the app (its worker went offline). */
  | { type: 'AppStopped'; data: { appId: string; workerId: string; deploymentId?: string; reason: AppStoppedReason } }
  /** The stopped app's container serves again (its worker came back and the container was adopted). */
  | { type: 'AppRestored'; data: { appId: string; workerId: string; deploymentId: string } }
  /** The app's webhook secret, set at creation and on rotation: AES-256-GCM ciphertext, never the secret itself. */
  | { type: 'WebhookSecretSet'; data: { appId: string; encrypted: string } };

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

export type AlertKind = 'cpu' | 'memory' | 'restarts' | 'offline' | 'crashloop' | 'deployment_failed';
export type AlertChannel = { type: 'webhook'; url: string } | { type: 'slack'; url: string } | { type: 'email'; to: string };
export interface AlertRuleSettings {
  kind: AlertKind;
  /** Threshold kinds only: percent (cpu, memory) or a count (restarts). */
  threshold?: number;
  /** Threshold kinds only: the debounce window of both edges (restarts: the counting window). */
  sustainMinutes?: number;
  enabled: boolean;
  channels: AlertChannel[];
}

/** Stream `alertrule-<id>`: a rule's settings and its edges (at most one incident open at a time). */
export type AlertEvent =
  | { type: 'AlertRuleCreated'; data: { ruleId: string; appId: string } & AlertRuleSettings }
  | { type: 'AlertRuleChanged'; data: { ruleId: string; appId: string } & AlertRuleSettings }
  | { type: 'AlertRuleDeleted'; data: { ruleId: string; appId: string } }
  /**
   * `channels`: where this edge is told, as the rule said at the time (the outbox is built from it).
   * `cause`: the log position of the event a reaction decided the edge from (offline, crashloop,
   * deployment_failed), so seeing that event again decides nothing.
   */
  | { type: 'AlertFired'; data: AlertEdgeData }
  | { type: 'AlertResolved'; data: AlertEdgeData };

export interface AlertEdgeData {
  ruleId: string;
  appId: string;
  incidentId: string;
  kind: AlertKind;
  value?: number;
  /** ISO 8601. */
  at: string;
  channels: AlertChannel[];
  cause?: { transactionId: string; position: string };
}

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


/**
 * Stream `webhookdelivery-<provider>-<app id>-<delivery id>`: a verified delivery, recorded once, so the same
 * delivery sent twice deploys once. `deploymentId` is set when it deploys (that deployment's
 * DeploymentRequested carries this event's id as causationId); `ignored` says why it did not.
 */
export type WebhookEvent = {
  type: 'WebhookReceived';
  data: { provider: string; deliveryId: string; appId: string; event: string; branch?: string; commit?: string; deploymentId?: string; ignored?: string };
};

export type BerthEvent =
  | AppEvent
  | AppNameEvent
  | DeploymentEvent
  | WorkerEvent
  | WorkerNameEvent
  | TokenEvent
  | DomainEvent
  | DomainNameEvent
  | WebhookEvent
  | AlertEvent;
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
  webhookDelivery: (provider: string, appId: string, deliveryId: string) => `webhookdelivery-${provider}-${appId}-${deliveryId}`,
  alertRule: (id: string) => `alertrule-${id}`,
};

export type { AppSource };
