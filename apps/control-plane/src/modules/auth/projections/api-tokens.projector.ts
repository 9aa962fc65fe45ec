import type { EventOfType } from '@berth/contracts';
import type { Projector, StoredEvent } from '@berth/event-store';
import type { PoolClient } from 'pg';

export const apiTokensProjector: Projector = {
  name: 'api_tokens',
  tables: ['api_tokens'],
  handles: ['TokenIssued'],
  async apply(event: StoredEvent, client: PoolClient) {
    const { data } = event as unknown as EventOfType<'TokenIssued'>;
    await client.query(
      `INSERT INTO api_tokens (id, name, role, token_hash, created_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (id) DO NOTHING`,
      [data.tokenId, data.name, data.role, data.tokenHash, event.occurredAt],
    );
  },
};
