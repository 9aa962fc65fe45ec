import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Runtime logs (seed section 3): persisted so they survive control-plane restarts and a reconnecting
 * client reads history before going live. (container_id, seq) identifies a line, so an agent's resend
 * is dropped as a duplicate. `id` is the cursor; it is allocated under a per-app advisory lock in the
 * insert's transaction, so within one app ids become visible in increasing order.
 */
export class RuntimeLogs1700000000400 implements MigrationInterface {
  name = 'RuntimeLogs1700000000400';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE runtime_logs (
        id            bigserial   PRIMARY KEY,
        app_id        uuid        NOT NULL,
        deployment_id uuid        NOT NULL,
        container_id  text        NOT NULL,
        seq           bigint      NOT NULL,
        ts            timestamptz NOT NULL,
        stream        text        NOT NULL CHECK (stream IN ('stdout', 'stderr')),
        text          text        NOT NULL,
        truncated     boolean     NOT NULL,
        received_at   timestamptz NOT NULL,
        UNIQUE (container_id, seq)
      )`);
    await q.query(`CREATE INDEX runtime_logs_app_id ON runtime_logs (app_id, id)`);
    await q.query(`CREATE INDEX runtime_logs_received_at ON runtime_logs (received_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE runtime_logs`);
  }
}
