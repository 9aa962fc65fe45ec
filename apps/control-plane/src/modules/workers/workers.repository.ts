import { Inject, Injectable } from '@nestjs/common';
import { type WorkerAppView, type WorkerCapacity, type WorkerStatus, type WorkerView } from '@berth/contracts';
import type { Pool } from 'pg';
import { PG_POOL } from '../../database/pg-pool';

interface WorkerRow {
  id: string;
  name: string;
  zone: string | null;
  status: WorkerStatus;
  capacity: WorkerCapacity | null;
  advertise_ip: string | null;
  created_at: Date;
  last_heartbeat_at: Date | null;
  allocated_memory_mb: number;
}

/**
 * Memory placed on each worker (worker_allocations): the containers serving apps there plus the jobs
 * assigned to it and not yet finished.
 */
const VIEW_SQL = `
  SELECT w.id, w.name, w.zone, w.status, w.capacity, w.advertise_ip, w.created_at, hb.at AS last_heartbeat_at,
         coalesce(a.mb, 0)::int AS allocated_memory_mb
    FROM workers w
    LEFT JOIN worker_heartbeats hb ON hb.worker_id = w.id
    LEFT JOIN (SELECT worker_id, sum(memory_mb) AS mb FROM worker_allocations
                WHERE worker_id IS NOT NULL AND state IN ('active', 'running') GROUP BY worker_id) a ON a.worker_id = w.id`;

function toView(r: WorkerRow, apps: WorkerAppView[]): WorkerView {
  return {
    id: r.id,
    name: r.name,
    ...(r.zone !== null ? { zone: r.zone } : {}),
    status: r.status,
    ...(r.capacity !== null ? { capacity: r.capacity } : {}),
    allocatedMemoryMb: r.allocated_memory_mb,
    ...(r.advertise_ip !== null ? { advertiseIp: r.advertise_ip } : {}),
    ...(r.last_heartbeat_at !== null ? { lastHeartbeatAt: r.last_heartbeat_at.toISOString() } : {}),
    apps,
    createdAt: r.created_at.toISOString(),
  };
}

function withoutApps(view: WorkerView): Omit<WorkerView, 'apps'> {
  const { apps: _apps, ...rest } = view;
  return rest;
}

export interface HeartbeatRecord {
  workerId: string;
  capacity: WorkerCapacity;
  runningContainers: number;
}

const APP_STATE: Record<string, WorkerAppView['state']> = { active: 'deploying', running: 'running', stopped: 'stopped' };

/** The workers module's tables: reads of `workers` and `worker_allocations`, writes of the `worker_heartbeats` telemetry. */
@Injectable()
export class WorkersRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /** Every worker, ordered by name (the scheduler gives ties to the first listed). */
  async list(): Promise<WorkerView[]> {
    const rows = await this.rows();
    const apps = await this.appsOn(rows.map((r) => r.id));
    return rows.map((r) => toView(r, apps.get(r.id) ?? []));
  }

  /**
   * Every worker, ordered as list() orders them, without the apps placed on each: one row per worker
   * however many apps the fleet runs (the scheduler needs only the placed memory).
   */
  async listWithoutApps(): Promise<Omit<WorkerView, 'apps'>[]> {
    return (await this.rows()).map((r) => withoutApps(toView(r, [])));
  }

  private async rows(): Promise<WorkerRow[]> {
    return (await this.pool.query<WorkerRow>(`${VIEW_SQL} ORDER BY w.name, w.id`)).rows;
  }

  async get(id: string): Promise<WorkerView | undefined> {
    const { rows } = await this.pool.query<WorkerRow>(`${VIEW_SQL} WHERE w.id = $1`, [id]);
    return rows[0] ? toView(rows[0], (await this.appsOn([id])).get(id) ?? []) : undefined;
  }

  /** The apps placed on each worker (worker_allocations), by name. */
  private async appsOn(workerIds: string[]): Promise<Map<string, WorkerAppView[]>> {
    const byWorker = new Map<string, WorkerAppView[]>();
    if (workerIds.length === 0) return byWorker;
    const { rows } = await this.pool.query<{ worker_id: string; app_id: string; app_name: string; deployment_id: string; state: string }>(
      `SELECT worker_id, app_id, app_name, deployment_id, state FROM worker_allocations
        WHERE worker_id = ANY($1::uuid[]) AND state IN ('active', 'running', 'stopped') ORDER BY app_name, deployment_id`,
      [workerIds],
    );
    for (const r of rows) {
      const list = byWorker.get(r.worker_id) ?? [];
      list.push({ appId: r.app_id, name: r.app_name, deploymentId: r.deployment_id, state: APP_STATE[r.state] });
      byWorker.set(r.worker_id, list);
    }
    return byWorker;
  }

  /**
   * Online workers whose last heartbeat is older than `graceMs`, judged by PostgreSQL's clock (so the
   * replicas' own clocks never matter), and that clock's time.
   */
  async silentWorkers(graceMs: number): Promise<{ now: Date; silent: { workerId: string; lastHeartbeatAt: Date }[] }> {
    const { rows } = await this.pool.query<{ now: Date; id: string | null; at: Date | null }>(
      `SELECT now.t AS now, s.id, s.at
         FROM (SELECT now() AS t) now
         LEFT JOIN (SELECT w.id, hb.at FROM workers w JOIN worker_heartbeats hb ON hb.worker_id = w.id
                     WHERE w.status = 'online' AND hb.at < now() - make_interval(secs => $1::double precision / 1000)) s ON true`,
      [graceMs],
    );
    return {
      now: rows[0].now,
      silent: rows.filter((r) => r.id !== null).map((r) => ({ workerId: r.id!, lastHeartbeatAt: r.at! })),
    };
  }

  /** Where other hosts reach each worker (its advertised address), for the workers that have one. */
  async advertiseIps(workerIds: readonly string[]): Promise<Map<string, string>> {
    const ids = [...new Set(workerIds)];
    if (ids.length === 0) return new Map();
    const { rows } = await this.pool.query<{ id: string; advertise_ip: string }>(
      'SELECT id, advertise_ip FROM workers WHERE id = ANY($1::uuid[]) AND advertise_ip IS NOT NULL',
      [ids],
    );
    return new Map(rows.map((r) => [r.id, r.advertise_ip]));
  }

  async findByTokenHash(tokenHash: string): Promise<{ id: string; name: string } | undefined> {
    const { rows } = await this.pool.query<{ id: string; name: string }>('SELECT id, name FROM workers WHERE token_hash = $1', [tokenHash]);
    return rows[0];
  }

  async nameTaken(name: string): Promise<boolean> {
    const { rowCount } = await this.pool.query('SELECT 1 FROM workers WHERE name = $1', [name]);
    return (rowCount ?? 0) > 0;
  }

  /** Deletes at most `batch` heartbeat rows last written before `before`; how many it deleted. */
  async pruneHeartbeats(before: Date, batch: number): Promise<number> {
    const { rowCount } = await this.pool.query(
      'DELETE FROM worker_heartbeats WHERE worker_id IN (SELECT worker_id FROM worker_heartbeats WHERE at < $1 LIMIT $2)',
      [before, batch],
    );
    return rowCount ?? 0;
  }

  async recordHeartbeat(h: HeartbeatRecord): Promise<void> {
    await this.pool.query(
      `INSERT INTO worker_heartbeats (worker_id, at, capacity, running_containers) VALUES ($1, now(), $2, $3)
       ON CONFLICT (worker_id) DO UPDATE SET at = greatest(worker_heartbeats.at, EXCLUDED.at), capacity = EXCLUDED.capacity,
         running_containers = EXCLUDED.running_containers`,
      [h.workerId, JSON.stringify(h.capacity), h.runningContainers],
    );
  }
}
