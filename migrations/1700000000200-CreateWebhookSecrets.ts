import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Read model of the webhooks module: per live app, the branch a push must move to deploy (null for an
 * image app) and its webhook secret, sealed (AES-256-GCM), from the latest WebhookSecretSet on its
 * stream. Deliveries are not a table: the event store decides them.
 */
export class CreateWebhookSecrets1700000000200 implements MigrationInterface {
  name = 'CreateWebhookSecrets1700000000200';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE webhook_secrets (
        app_id     uuid        PRIMARY KEY,
        branch     text,
        encrypted  text,
        updated_at timestamptz NOT NULL
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE webhook_secrets`);
  }
}
