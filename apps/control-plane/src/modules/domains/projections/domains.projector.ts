import type { AppEvent, DomainEvent } from '@berth/contracts';
import type { Projector, StoredEvent } from '@berth/event-store';
import type { PoolClient } from 'pg';

type Handled = DomainEvent | Extract<AppEvent, { type: 'AppDeleted' }>;

/** Read model `domains`: each app's custom domains with their verification state. */
export const domainsProjector: Projector = {
  name: 'domains',
  tables: ['domains'],
  handles: ['DomainAdded', 'DomainVerified', 'DomainUnrouted', 'DomainRemoved', 'AppDeleted'],

  async apply(stored: StoredEvent, client: PoolClient) {
    const event = stored as unknown as Handled & StoredEvent;
    const at = stored.occurredAt;
    switch (event.type) {
      case 'DomainAdded':
        await client.query(
          `INSERT INTO domains (id, app_id, hostname, token, status, created_at, updated_at)
           VALUES ($1, $2, $3, $4, 'pending', $5, $5) ON CONFLICT (id) DO NOTHING`,
          [event.data.domainId, event.data.appId, event.data.hostname, event.data.token, at],
        );
        return;
      case 'DomainVerified':
        await client.query(`UPDATE domains SET status = 'verified', reason = NULL, verified_at = $2, updated_at = $2 WHERE id = $1`, [event.data.domainId, at]);
        return;
      case 'DomainUnrouted':
        await client.query(`UPDATE domains SET status = 'unrouted', reason = $2, updated_at = $3 WHERE id = $1`, [event.data.domainId, event.data.reason, at]);
        return;
      case 'DomainRemoved':
        await client.query(`DELETE FROM domains WHERE id = $1`, [event.data.domainId]);
        return;
      case 'AppDeleted':
        await client.query(`DELETE FROM domains WHERE app_id = $1`, [event.data.appId]);
        return;
      default:
        return;
    }
  },
};
