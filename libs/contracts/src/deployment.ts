export const DEPLOYMENT_STATUSES = ['queued', 'assigned', 'building', 'starting', 'succeeded', 'failed'] as const;
export type DeploymentStatus = (typeof DEPLOYMENT_STATUSES)[number];

/** The reason a deployment ends `failed` when its app is deleted before it finished (control plane and agent agree on it). */
export const APP_DELETED_REASON = 'the app was deleted';

/** The reason recoverStuckJobs gives a job that made no progress for the stuck-job timeout (seed 4: "flips them to failed"). */
export const STUCK_JOB_REASON = 'timeout';

/** Why an app is `stopped` when its worker went offline (the status cascade of seed 4). */
export const WORKER_OFFLINE_REASON = 'worker_offline';

export interface DeploymentView {
  id: string;
  appId: string;
  status: DeploymentStatus;
  /** Why the deployment is where it is: the placement wait reason while queued, the failure reason when failed. */
  reason?: string;
  commit?: string;
  jobId?: string;
  workerId?: string;
  /** host:port of the container this deployment started, once it succeeded. */
  address?: string;
  /** The last lines the container printed, when the deployment failed after the container started. */
  logTail?: string[];
  createdAt: string;
  updatedAt: string;
  finishedAt?: string;
}

export interface BuildLogLine {
  seq: number;
  line: string;
  at: string;
}
