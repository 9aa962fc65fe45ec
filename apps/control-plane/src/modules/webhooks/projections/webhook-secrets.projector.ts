import type { AppEvent } from '@berth/contracts';
import type { Projector, StoredEvent } from '@berth/event-store';
import type { PoolClient } from 'pg';

/** Read model `webhook_secrets`: per live app, its git branch (null for an image app) and the sealed secret its webhooks are verified with. */
export const webhookSecretsProjector: Projector = {
  name: 'webhook_secrets',
  tables: ['webhook_secrets'],
  handles: ['AppCreated', 'AppUpdated', 'WebhookSecretSet', 'AppDeleted'],

  async apply(stored: StoredEvent, client: PoolClient) {
    const event = stored as unknown as AppEvent & StoredEvent;
    const at = stored.occurredAt;
    switch (event.type) {
      case 'AppCreated':
      case 'AppUpdated': {
        const source = event.data.spec.source;
        await client.query(
          `INSERT INTO webhook_secrets (app_id, branch, updated_at) VALUES ($1, $2, $3)
           ON CONFLICT (app_id) DO UPDATE SET branch = EXCLUDED.branch, updated_at = EXCLUDED.updated_at`,
          [event.data.appId, source.type === 'git' ? source.branch : null, at],
        );
        return;
      }
      case 'WebhookSecretSet':
        await client.query(`UPDATE webhook_secrets SET encrypted = $2, updated_at = $3 WHERE app_id = $1`, [event.data.appId, event.data.encrypted, at]);
        return;
      case 'AppDeleted':
        await client.query(`DELETE FROM webhook_secrets WHERE app_id = $1`, [event.data.appId]);
        return;
      default:
        return;
    }
  },
};
