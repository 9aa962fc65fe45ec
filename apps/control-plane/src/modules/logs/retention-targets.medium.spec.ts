import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../../../test/support/database';
import { DeploymentsRepository } from '../deploy/deployments.repository';
import { WorkersRepository } from '../workers/workers.repository';
import { BUILD_LOGS_KEPT_PER_APP, pruneInBatches } from './telemetry-retention';

/** The prune methods retention asks of the deploy and workers modules, on their real tables. */
describe('retention of build output and heartbeats (real PostgreSQL)', () => {
  let db: TestDatabase;
  let pool: Pool;

  beforeAll(async () => {
    db = await createTestDatabase();
    pool = new Pool({ connectionString: db.url });
    pool.on('error', () => undefined);
  });
  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  it('keeps the build output of the newest 50 deployments of each app and deletes the rest in batches', async () => {
    const deployments = new DeploymentsRepository(pool);
    const apps = [randomUUID(), randomUUID()];
    const ids: Record<string, string[]> = {};
    for (const [a, appId] of apps.entries()) {
      const count = a === 0 ? BUILD_LOGS_KEPT_PER_APP + 3 : 10;
      ids[appId] = [];
      for (let i = 0; i < count; i++) {
        const id = randomUUID();
        ids[appId].push(id);
        const at = new Date(Date.UTC(2026, 0, 1, 0, i));
        await pool.query(`INSERT INTO deployments (id, app_id, status, memory_mb, version, created_at, updated_at) VALUES ($1, $2, 'succeeded', 64, 1, $3, $3)`, [id, appId, at]);
        await deployments.insertBuildLogLines(id, [1, 2, 3].map((seq) => ({ seq, line: `l${seq}`, at: at.toISOString() })));
      }
    }
    const batches: number[] = [];
    const deleted = await pruneInBatches(async (n) => {
      const d = await deployments.pruneBuildLogsBeyondNewest(BUILD_LOGS_KEPT_PER_APP, n);
      batches.push(d);
      return d;
    }, 4);
    expect(deleted).toBe(9);
    expect(batches).toEqual([4, 4, 1]);
    for (const [i, id] of ids[apps[0]].entries()) expect((await deployments.readBuildLogLines(id, -1, 10)).length).toBe(i < 3 ? 0 : 3);
    for (const id of ids[apps[1]]) expect(await deployments.readBuildLogLines(id, -1, 10)).toHaveLength(3);
  });

  it('deletes heartbeats older than the cutoff only', async () => {
    const workers = new WorkersRepository(pool);
    const old = randomUUID();
    const fresh = randomUUID();
    for (const [workerId, at] of [[old, '2026-01-01T00:00:00Z'], [fresh, '2026-01-03T00:00:00Z']]) {
      await pool.query(`INSERT INTO worker_heartbeats (worker_id, at, capacity, running_containers) VALUES ($1, $2, '{"memoryMb":1,"cpus":1}', 0)`, [workerId, at]);
    }
    expect(await workers.pruneHeartbeats(new Date('2026-01-02T00:00:00Z'), 10)).toBe(1);
    const { rows } = await pool.query<{ worker_id: string }>('SELECT worker_id FROM worker_heartbeats');
    expect(rows.map((r) => r.worker_id)).toEqual([fresh]);
  });
});
