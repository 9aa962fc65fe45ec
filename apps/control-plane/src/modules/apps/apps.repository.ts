import { Inject, Injectable } from '@nestjs/common';
import type { AppSpec, AppStatus } from '@berth/contracts';
import type { Pool } from 'pg';
import { PG_POOL } from '../../database/pg-pool';

export interface AppRow {
  id: string;
  spec: AppSpec;
  status: AppStatus;
  status_reason: string | null;
  current_deployment_id: string | null;
  current_worker_id: string | null;
  current_host_port: number | null;
  created_at: Date;
  updated_at: Date;
}

const SELECT_APPS = `SELECT id, spec, status, status_reason, current_deployment_id, current_worker_id, current_host_port, created_at, updated_at FROM apps`;

/** The apps module's tables (`apps`, `app_deployments`): the only SQL that names them outside the projector. */
@Injectable()
export class AppsRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  async list(): Promise<AppRow[]> {
    return (await this.pool.query<AppRow>(`${SELECT_APPS} ORDER BY created_at, id`)).rows;
  }

  async get(appId: string): Promise<AppRow | undefined> {
    return (await this.pool.query<AppRow>(`${SELECT_APPS} WHERE id = $1`, [appId])).rows[0];
  }

  /** The current deployment (or null) of each of these apps that exists. */
  async currentDeployments(appIds: readonly string[]): Promise<Map<string, string | null>> {
    const ids = [...new Set(appIds)];
    if (ids.length === 0) return new Map();
    const { rows } = await this.pool.query<{ id: string; current_deployment_id: string | null }>(
      'SELECT id, current_deployment_id FROM apps WHERE id = ANY($1::uuid[])',
      [ids],
    );
    return new Map(rows.map((r) => [r.id, r.current_deployment_id]));
  }

  /** Apps whose serving container runs on the worker. */
  async runningOn(workerId: string): Promise<AppRow[]> {
    return (await this.pool.query<AppRow>(`${SELECT_APPS} WHERE current_worker_id = $1 AND status = 'running' ORDER BY id`, [workerId])).rows;
  }

  /** Apps stopped by an outage of this worker, whose serving container was there. */
  async stoppedOn(workerId: string): Promise<AppRow[]> {
    return (await this.pool.query<AppRow>(`${SELECT_APPS} WHERE current_worker_id = $1 AND status = 'stopped' ORDER BY id`, [workerId])).rows;
  }

  /** Live apps among these ids, with where they run. */
  async getMany(appIds: readonly string[]): Promise<AppRow[]> {
    const ids = [...new Set(appIds)];
    if (ids.length === 0) return [];
    return (await this.pool.query<AppRow>(`${SELECT_APPS} WHERE id = ANY($1::uuid[])`, [ids])).rows;
  }

  /** Which of these app ids belong to live apps. */
  async existing(appIds: readonly string[]): Promise<Set<string>> {
    const ids = [...new Set(appIds)];
    if (ids.length === 0) return new Set();
    const { rows } = await this.pool.query<{ id: string }>('SELECT id FROM apps WHERE id = ANY($1::uuid[])', [ids]);
    return new Set(rows.map((r) => r.id));
  }
}
