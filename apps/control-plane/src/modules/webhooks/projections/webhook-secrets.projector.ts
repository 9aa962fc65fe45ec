import type { AppEvent } from '@berth/contracts';
import type { Projector, StoredEvent } from '@berth/event-store';
import type { PoolClient } from 'pg';

type Handled = Extract<AppEvent, { type: 'WebhookSecretSet' | 'AppDeleted' }>;

/** Read model `webhook_secrets`: the sealed secret each live app's webhooks are verified with. */
export const webhookSecretsProjector: Projector = {
  name: 'webhook_secrets',
  tables: ['webhook_secrets'],
  handles: ['WebhookSecretSet', 'AppDeleted'],

  async apply(stored: StoredEvent, client: PoolClient) {
    const event = stored as unknown as Handled & StoredEvent;
    if (event.type === 'WebhookSecretSet') {
      await client.query(
        `INSERT INTO webhook_secrets (app_id, encrypted, updated_at) VALUES ($1, $2, $3)
         ON CONFLICT (app_id) DO UPDATE SET encrypted = EXCLUDED.encrypted, updated_at = EXCLUDED.updated_at`,
        [event.data.appId, event.data.encrypted, stored.occurredAt],
      );
    } else if (event.type === 'AppDeleted') {
      await client.query(`DELETE FROM webhook_secrets WHERE app_id = $1`, [event.data.appId]);
    }
  },
};
