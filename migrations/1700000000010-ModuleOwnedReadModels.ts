import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Each module reads only its own tables. The apps read model keeps which app each deployment belongs
 * to (it used to read the event log for that), and the workers module keeps the memory placed on each
 * worker (it used to sum the apps and deployments tables). The `apps` read model is replayed from the
 * log at the next start so its new table is filled; `worker_allocations` is filled by a new projector.
 */
export class ModuleOwnedReadModels1700000000010 implements MigrationInterface {
  name = 'ModuleOwnedReadModels1700000000010';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE app_deployments (
        deployment_id uuid PRIMARY KEY,
        app_id        uuid NOT NULL
      )`);
    await q.query(`CREATE INDEX app_deployments_app ON app_deployments (app_id)`);
    await q.query(`
      CREATE TABLE worker_allocations (
        deployment_id uuid    PRIMARY KEY,
        app_id        uuid    NOT NULL,
        app_name      text    NOT NULL,
        worker_id     uuid,
        memory_mb     integer NOT NULL,
        state         text    NOT NULL
      )`);
    await q.query(`CREATE INDEX worker_allocations_worker ON worker_allocations (worker_id) WHERE state IN ('active', 'running')`);
    await q.query(`CREATE INDEX worker_allocations_app ON worker_allocations (app_id)`);
    await q.query(`ALTER TABLE apps ADD COLUMN status_reason text`);
    await q.query(`TRUNCATE apps`);
    await q.query(`DELETE FROM projection_checkpoints WHERE name = 'apps'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE worker_allocations`);
    await q.query(`DROP TABLE app_deployments`);
    await q.query(`ALTER TABLE apps DROP COLUMN status_reason`);
  }
}
