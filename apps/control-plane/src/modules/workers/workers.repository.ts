import { Inject, Injectable } from '@nestjs/common';
import { type WorkerCapacity, type WorkerStatus, type WorkerView } from '@berth/contracts';
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

function toView(r: WorkerRow): WorkerView {
  return {
    id: r.id,
    name: r.name,
    ...(r.zone !== null ? { zone: r.zone } : {}),
    status: r.status,
    ...(r.capacity !== null ? { capacity: r.capacity } : {}),
    allocatedMemoryMb: r.allocated_memory_mb,
    ...(r.advertise_ip !== null ? { advertiseIp: r.advertise_ip } : {}),
    ...(r.last_heartbeat_at !== null ? { lastHeartbeatAt: r.last_heartbeat_at.toISOString() } : {}),
    createdAt: r.created_at.toISOString(),
  };
}

export interface HeartbeatRecord {
  workerId: string;
  at: Date;
  capacity: WorkerCapacity;
  runningContainers: number;
}

/** The workers module's tables: reads of `workers` and `worker_allocations`, writes of the `worker_heartbeats` telemetry. */
@Injectable()
export class WorkersRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /** Every worker, ordered by name (the scheduler gives ties to the first listed). */
  async list(): Promise<WorkerView[]> {
    const { rows } = await this.pool.query<WorkerRow>(`${VIEW_SQL} ORDER BY w.name, w.id`);
    return rows.map(toView);
  }

  async get(id: string): Promise<WorkerView | undefined> {
    const { rows } = await this.pool.query<WorkerRow>(`${VIEW_SQL} WHERE w.id = $1`, [id]);
    return rows[0] ? toView(rows[0]) : undefined;
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

  async recordHeartbeat(h: HeartbeatRecord): Promise<void> {
    await this.pool.query(
      `INSERT INTO worker_heartbeats (worker_id, at, capacity, running_containers) VALUES ($1, $2, $3, $4)
       ON CONFLICT (worker_id) DO UPDATE SET at = greatest(worker_heartbeats.at, EXCLUDED.at), capacity = EXCLUDED.capacity,
         running_containers = EXCLUDED.running_containers`,
      [h.workerId, h.at, JSON.stringify(h.capacity), h.runningContainers],
    );
  }
}
