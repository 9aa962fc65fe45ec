/** The shape of an app as the API accepts and returns it (issue: "JSON shapes, kept exactly"). */
export type AppSource =
  | { type: 'git'; repoUrl: string; branch: string; dockerfilePath?: string }
  | { type: 'image'; image: string };

export interface AppSpec {
  name: string;
  zone?: string;
  source: AppSource;
  /** The port the app listens on inside its container. */
  port: number;
  env?: Record<string, string>;
  healthCheckPath?: string;
  memoryMb?: number;
  cpus?: number;
}

/** POST /api/apps answers the app and, this once, its webhook secret. */
export type CreatedAppView = AppView & { webhookSecret: string };

export type AppStatus = 'created' | 'deploying' | 'running' | 'failed' | 'stopped';

export interface AppEndpoint {
  workerId: string;
  /** host:port where the app answers. */
  address: string;
}

export interface AppView extends AppSpec {
  id: string;
  status: AppStatus;
  /** Why the app is `stopped` (worker_offline, worker_removed); absent otherwise. */
  statusReason?: string;
  endpoints: AppEndpoint[];
  /** Where each git host sends push events for this app (the secret is shown once, at creation). */
  webhooks: Record<'github' | 'codeberg' | 'gitea' | 'forgejo' | 'gitlab' | 'bitbucket', string>;
  createdAt: string;
  updatedAt: string;
}

/** Memory an app is placed with when it names none. */
export const DEFAULT_APP_MEMORY_MB = 256;
export const DEFAULT_HEALTH_CHECK_PATH = '/';
