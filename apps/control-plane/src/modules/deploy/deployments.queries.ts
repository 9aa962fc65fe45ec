import type { BuildLogLine, DeploymentStatus, DeploymentView } from '@berth/contracts';
import type { Pool } from 'pg';

/** Reads of the `deployments` read model and the `deployment_logs` telemetry table. */

interface DeploymentRow {
  id: string;
  app_id: string;
  status: DeploymentStatus;
  reason: string | null;
  commit: string | null;
  job_id: string | null;
  worker_id: string | null;
  host_port: number | null;
  log_tail: string[] | null;
  advertise_ip: string | null;
  created_at: Date;
  updated_at: Date;
  finished_at: Date | null;
}

const SELECT_DEPLOYMENTS = `
  SELECT d.id, d.app_id, d.status, d.reason, d.commit, d.job_id, d.worker_id, d.host_port, d.log_tail, w.advertise_ip,
         d.created_at, d.updated_at, d.finished_at
  FROM deployments d LEFT JOIN workers w ON w.id = d.worker_id`;

export function toDeploymentView(row: DeploymentRow): DeploymentView {
  const view: DeploymentView = {
    id: row.id,
    appId: row.app_id,
    status: row.status,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
  if (row.reason !== null) view.reason = row.reason;
  if (row.commit !== null) view.commit = row.commit;
  if (row.job_id !== null) view.jobId = row.job_id;
  if (row.worker_id !== null) view.workerId = row.worker_id;
  if (row.status === 'succeeded' && row.host_port !== null) view.address = `${row.advertise_ip ?? '127.0.0.1'}:${row.host_port}`;
  if (row.log_tail !== null && row.log_tail.length > 0) view.logTail = row.log_tail;
  if (row.finished_at !== null) view.finishedAt = row.finished_at.toISOString();
  return view;
}

export async function findDeployment(pool: Pool, deploymentId: string): Promise<DeploymentView | null> {
  const { rows } = await pool.query<DeploymentRow>(`${SELECT_DEPLOYMENTS} WHERE d.id = $1`, [deploymentId]);
  return rows[0] ? toDeploymentView(rows[0]) : null;
}

export async function listDeploymentsOfApp(pool: Pool, appId: string, limit: number): Promise<DeploymentView[]> {
  const { rows } = await pool.query<DeploymentRow>(`${SELECT_DEPLOYMENTS} WHERE d.app_id = $1 ORDER BY d.created_at DESC, d.id DESC LIMIT $2`, [
    appId,
    limit,
  ]);
  return rows.map(toDeploymentView);
}

export async function appExists(pool: Pool, appId: string): Promise<boolean> {
  const { rowCount } = await pool.query('SELECT 1 FROM apps WHERE id = $1', [appId]);
  return (rowCount ?? 0) > 0;
}

/** The deployment a job belongs to and the worker holding it. */
export async function findJob(pool: Pool, jobId: string): Promise<{ deploymentId: string; workerId: string | null } | null> {
  const { rows } = await pool.query<{ id: string; worker_id: string | null }>('SELECT id, worker_id FROM deployments WHERE job_id = $1', [jobId]);
  return rows[0] ? { deploymentId: rows[0].id, workerId: rows[0].worker_id } : null;
}

export interface QueuedDeployment {
  deploymentId: string;
  appId: string;
  zone?: string;
  memoryMb: number;
  /** ISO 8601. */
  createdAt: string;
}

/**
 * Deployments waiting for a worker, oldest first (the order the scheduler should place them in).
 * A deployment whose app was deleted meanwhile is left out: nothing should be placed for it.
 */
export async function listQueuedDeployments(pool: Pool): Promise<QueuedDeployment[]> {
  const { rows } = await pool.query<{ id: string; app_id: string; zone: string | null; memory_mb: number; created_at: Date }>(
    `SELECT d.id, d.app_id, d.zone, d.memory_mb, d.created_at FROM deployments d
     WHERE d.status = 'queued' AND EXISTS (SELECT 1 FROM apps a WHERE a.id = d.app_id)
     ORDER BY d.created_at, d.id`,
  );
  return rows.map((r) => ({
    deploymentId: r.id,
    appId: r.app_id,
    ...(r.zone !== null ? { zone: r.zone } : {}),
    memoryMb: r.memory_mb,
    createdAt: r.created_at.toISOString(),
  }));
}

/** Deployments a worker holds and has not finished: assigned, building or starting. */
export async function listActiveJobIdsOfWorker(pool: Pool, workerId: string): Promise<{ deploymentId: string; jobId: string }[]> {
  const { rows } = await pool.query<{ id: string; job_id: string }>(
    `SELECT id, job_id FROM deployments WHERE worker_id = $1 AND status IN ('assigned', 'building', 'starting') ORDER BY created_at, id`,
    [workerId],
  );
  return rows.map((r) => ({ deploymentId: r.id, jobId: r.job_id }));
}

/** Deployments of an app that have not finished (queued, assigned, building or starting), oldest first. */
export async function listUnfinishedDeploymentsOfApp(pool: Pool, appId: string): Promise<string[]> {
  const { rows } = await pool.query<{ id: string }>(
    `SELECT id FROM deployments WHERE app_id = $1 AND status IN ('queued', 'assigned', 'building', 'starting') ORDER BY created_at, id`,
    [appId],
  );
  return rows.map((r) => r.id);
}

/** Unfinished deployments whose app has no row in the `apps` read model (deleted, or not projected yet). */
export async function listUnfinishedDeploymentsWithoutApp(pool: Pool): Promise<{ deploymentId: string; appId: string }[]> {
  const { rows } = await pool.query<{ id: string; app_id: string }>(
    `SELECT d.id, d.app_id FROM deployments d
     WHERE d.status IN ('queued', 'assigned', 'building', 'starting') AND NOT EXISTS (SELECT 1 FROM apps a WHERE a.id = d.app_id)
     ORDER BY d.created_at, d.id`,
  );
  return rows.map((r) => ({ deploymentId: r.id, appId: r.app_id }));
}

export async function insertBuildLogLines(pool: Pool, deploymentId: string, lines: BuildLogLine[]): Promise<number> {
  if (lines.length === 0) return 0;
  const { rowCount } = await pool.query(
    `INSERT INTO deployment_logs (deployment_id, seq, line, at)
     SELECT $1, l.seq, l.line, l.at FROM unnest($2::int[], $3::text[], $4::timestamptz[]) AS l(seq, line, at)
     ON CONFLICT (deployment_id, seq) DO NOTHING`,
    [deploymentId, lines.map((l) => l.seq), lines.map((l) => l.line), lines.map((l) => l.at)],
  );
  return rowCount ?? 0;
}

export async function readBuildLogLines(pool: Pool, deploymentId: string, after: number, limit: number): Promise<BuildLogLine[]> {
  const { rows } = await pool.query<{ seq: number; line: string; at: Date }>(
    'SELECT seq, line, at FROM deployment_logs WHERE deployment_id = $1 AND seq > $2 ORDER BY seq LIMIT $3',
    [deploymentId, after, limit],
  );
  return rows.map((r) => ({ seq: r.seq, line: r.line, at: r.at.toISOString() }));
}

/** The highest seq of a deployment's stored build log lines (0 when none). */
export async function lastBuildLogSeq(pool: Pool, deploymentId: string): Promise<number> {
  const { rows } = await pool.query<{ seq: number | null }>('SELECT max(seq) AS seq FROM deployment_logs WHERE deployment_id = $1', [deploymentId]);
  return rows[0]?.seq ?? 0;
}
