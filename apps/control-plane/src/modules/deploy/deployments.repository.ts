import { Inject, Injectable } from '@nestjs/common';
import type { BuildLogLine, DeploymentStatus, DeploymentView } from '@berth/contracts';
import type { Pool } from 'pg';
import { PG_POOL } from '../../database/pg-pool';

export interface DeploymentRow {
  id: string;
  app_id: string;
  status: DeploymentStatus;
  reason: string | null;
  commit: string | null;
  job_id: string | null;
  worker_id: string | null;
  host_port: number | null;
  log_tail: string[] | null;
  created_at: Date;
  updated_at: Date;
  finished_at: Date | null;
}

const SELECT_DEPLOYMENTS = `
  SELECT id, app_id, status, reason, commit, job_id, worker_id, host_port, log_tail, created_at, updated_at, finished_at
  FROM deployments`;

/** A row as the API shows it; `advertiseIp` is where its worker is reached (asked of the workers module). */
export function toDeploymentView(row: DeploymentRow, advertiseIp: string | undefined): DeploymentView {
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
  if (row.status === 'succeeded' && row.host_port !== null) view.address = `${advertiseIp ?? '127.0.0.1'}:${row.host_port}`;
  if (row.log_tail !== null && row.log_tail.length > 0) view.logTail = row.log_tail;
  if (row.finished_at !== null) view.finishedAt = row.finished_at.toISOString();
  return view;
}

export interface DeploymentPlacement {
  deploymentId: string;
  appId: string;
  workerId: string | null;
  containerId: string | null;
}

export interface QueuedDeployment {
  deploymentId: string;
  appId: string;
  zone?: string;
  memoryMb: number;
  /** ISO 8601. */
  createdAt: string;
}

const UNFINISHED = `('queued', 'assigned', 'building', 'starting')`;

/** The deploy module's tables (`deployments`, `deployment_logs`): the only SQL that names them outside the projector. */
@Injectable()
export class DeploymentsRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  async find(deploymentId: string): Promise<DeploymentRow | undefined> {
    return (await this.pool.query<DeploymentRow>(`${SELECT_DEPLOYMENTS} WHERE id = $1`, [deploymentId])).rows[0];
  }

  async listOfApp(appId: string, limit: number): Promise<DeploymentRow[]> {
    const { rows } = await this.pool.query<DeploymentRow>(`${SELECT_DEPLOYMENTS} WHERE app_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2`, [
      appId,
      limit,
    ]);
    return rows;
  }

  /** The deployment a job belongs to and the worker holding it. */
  async findJob(jobId: string): Promise<{ deploymentId: string; workerId: string | null } | null> {
    const { rows } = await this.pool.query<{ id: string; worker_id: string | null }>('SELECT id, worker_id FROM deployments WHERE job_id = $1', [jobId]);
    return rows[0] ? { deploymentId: rows[0].id, workerId: rows[0].worker_id } : null;
  }

  /** Deployments waiting for a worker, oldest first (the order the scheduler should place them in). */
  async listQueued(): Promise<QueuedDeployment[]> {
    const { rows } = await this.pool.query<{ id: string; app_id: string; zone: string | null; memory_mb: number; created_at: Date }>(
      `SELECT id, app_id, zone, memory_mb, created_at FROM deployments WHERE status = 'queued' ORDER BY created_at, id`,
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
  async listActiveJobsOfWorker(workerId: string): Promise<{ deploymentId: string; jobId: string }[]> {
    const { rows } = await this.pool.query<{ id: string; job_id: string }>(
      `SELECT id, job_id FROM deployments WHERE worker_id = $1 AND status IN ('assigned', 'building', 'starting') ORDER BY created_at, id`,
      [workerId],
    );
    return rows.map((r) => ({ deploymentId: r.id, jobId: r.job_id }));
  }

  /** Deployments of an app that have not finished (queued, assigned, building or starting), oldest first. */
  async listUnfinishedOfApp(appId: string): Promise<string[]> {
    const { rows } = await this.pool.query<{ id: string }>(`SELECT id FROM deployments WHERE app_id = $1 AND status IN ${UNFINISHED} ORDER BY created_at, id`, [
      appId,
    ]);
    return rows.map((r) => r.id);
  }

  /** Where each of these deployments runs: its app, worker and container (null until known). */
  async placements(deploymentIds: readonly string[]): Promise<DeploymentPlacement[]> {
    const ids = [...new Set(deploymentIds)];
    if (ids.length === 0) return [];
    const { rows } = await this.pool.query<{ id: string; app_id: string; worker_id: string | null; container_id: string | null }>(
      'SELECT id, app_id, worker_id, container_id FROM deployments WHERE id = ANY($1::uuid[])',
      [ids],
    );
    return rows.map((r) => ({ deploymentId: r.id, appId: r.app_id, workerId: r.worker_id, containerId: r.container_id }));
  }

  /** Deletes at most `batch` build log lines of deployments older than the newest `keep` of their app. */
  async pruneBuildLogsBeyondNewest(keep: number, batch: number): Promise<number> {
    const { rowCount } = await this.pool.query(
      `DELETE FROM deployment_logs WHERE (deployment_id, seq) IN (
         SELECT l.deployment_id, l.seq FROM deployment_logs l
         WHERE l.deployment_id IN (
           SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY app_id ORDER BY created_at DESC, id DESC) AS n FROM deployments) d WHERE d.n > $1
         )
         LIMIT $2)`,
      [keep, batch],
    );
    return rowCount ?? 0;
  }

  /**
   * Jobs (assigned, building or starting) whose last progress — their last event, or their last build
   * output line — is older than `cutoff`.
   */
  async listWithoutProgressSince(cutoff: Date): Promise<{ deploymentId: string; status: string; lastProgressAt: string }[]> {
    const { rows } = await this.pool.query<{ id: string; status: string; last_progress_at: Date }>(
      `SELECT d.id, d.status, greatest(d.updated_at, (SELECT max(l.at) FROM deployment_logs l WHERE l.deployment_id = d.id)) AS last_progress_at
         FROM deployments d
        WHERE d.status IN ('assigned', 'building', 'starting') AND d.updated_at < $1
          AND NOT EXISTS (SELECT 1 FROM deployment_logs l WHERE l.deployment_id = d.id AND l.at >= $1)
        ORDER BY d.updated_at, d.id`,
      [cutoff],
    );
    return rows.map((r) => ({ deploymentId: r.id, status: r.status, lastProgressAt: r.last_progress_at.toISOString() }));
  }

  async insertBuildLogLines(deploymentId: string, lines: BuildLogLine[]): Promise<number> {
    if (lines.length === 0) return 0;
    const { rowCount } = await this.pool.query(
      `INSERT INTO deployment_logs (deployment_id, seq, line, at)
       SELECT $1, l.seq, l.line, l.at FROM unnest($2::int[], $3::text[], $4::timestamptz[]) AS l(seq, line, at)
       ON CONFLICT (deployment_id, seq) DO NOTHING`,
      [deploymentId, lines.map((l) => l.seq), lines.map((l) => l.line), lines.map((l) => l.at)],
    );
    return rowCount ?? 0;
  }

  async readBuildLogLines(deploymentId: string, after: number, limit: number): Promise<BuildLogLine[]> {
    const { rows } = await this.pool.query<{ seq: number; line: string; at: Date }>(
      // A range of the primary key, so the planner walks it in order whatever its statistics (see
      // RuntimeLogsRepository's appRange).
      'SELECT seq, line, at FROM deployment_logs WHERE (deployment_id, seq) > ($1::uuid, $2::integer) AND (deployment_id, seq) <= ($1::uuid, 2147483647) ORDER BY deployment_id, seq LIMIT $3',
      [deploymentId, after, limit],
    );
    return rows.map((r) => ({ seq: r.seq, line: r.line, at: r.at.toISOString() }));
  }

  /** The highest seq of a deployment's stored build log lines (0 when none). */
  async lastBuildLogSeq(deploymentId: string): Promise<number> {
    const { rows } = await this.pool.query<{ seq: number | null }>('SELECT max(seq) AS seq FROM deployment_logs WHERE deployment_id = $1', [deploymentId]);
    return rows[0]?.seq ?? 0;
  }
}
