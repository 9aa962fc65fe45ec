import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Read models (rebuilt from events by projectors) and telemetry tables (written directly, never
 * event-sourced: build output lines and worker heartbeats).
 */
export class CreateReadModelsAndTelemetry1700000000001 implements MigrationInterface {
  name = 'CreateReadModelsAndTelemetry1700000000001';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE apps (
        id                    uuid        PRIMARY KEY,
        name                  text        NOT NULL UNIQUE,
        spec                  jsonb       NOT NULL,
        status                text        NOT NULL,
        current_deployment_id uuid,
        current_worker_id     uuid,
        current_host_port     integer,
        version               integer     NOT NULL,
        created_at            timestamptz NOT NULL,
        updated_at            timestamptz NOT NULL
      )`);
    await q.query(`
      CREATE TABLE deployments (
        id           uuid        PRIMARY KEY,
        app_id       uuid        NOT NULL,
        status       text        NOT NULL,
        reason       text,
        commit       text,
        job_id       uuid,
        worker_id    uuid,
        memory_mb    integer     NOT NULL,
        zone         text,
        container_id text,
        host_port    integer,
        log_tail     jsonb,
        correlation_id text,
        version      integer     NOT NULL,
        created_at   timestamptz NOT NULL,
        updated_at   timestamptz NOT NULL,
        finished_at  timestamptz
      )`);
    await q.query(`CREATE INDEX deployments_app_created ON deployments (app_id, created_at DESC)`);
    await q.query(`CREATE INDEX deployments_status ON deployments (status)`);
    await q.query(`CREATE INDEX deployments_worker_status ON deployments (worker_id, status)`);
    await q.query(`
      CREATE TABLE workers (
        id           uuid        PRIMARY KEY,
        name         text        NOT NULL,
        zone         text,
        status       text        NOT NULL,
        token_hash   text        NOT NULL UNIQUE,
        capacity     jsonb,
        advertise_ip text,
        version      integer     NOT NULL,
        created_at   timestamptz NOT NULL,
        updated_at   timestamptz NOT NULL
      )`);
    await q.query(`
      CREATE TABLE api_tokens (
        id         uuid        PRIMARY KEY,
        name       text        NOT NULL,
        role       text        NOT NULL,
        token_hash text        NOT NULL UNIQUE,
        created_at timestamptz NOT NULL
      )`);
    await q.query(`
      CREATE TABLE deployment_logs (
        deployment_id uuid        NOT NULL,
        seq           integer     NOT NULL,
        line          text        NOT NULL,
        at            timestamptz NOT NULL,
        PRIMARY KEY (deployment_id, seq)
      )`);
    await q.query(`
      CREATE TABLE worker_heartbeats (
        worker_id          uuid        PRIMARY KEY,
        at                 timestamptz NOT NULL,
        capacity           jsonb       NOT NULL,
        running_containers integer     NOT NULL
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ['worker_heartbeats', 'deployment_logs', 'api_tokens', 'workers', 'deployments', 'apps']) {
      await q.query(`DROP TABLE ${t}`);
    }
  }
}
