import type { WorkerEvent } from '@berth/contracts';
import type { Projector, StoredEvent } from '@berth/event-store';
import type { PoolClient } from 'pg';

/** The `workers` read model, rebuilt from the worker streams. */
export const workersProjector: Projector = {
  name: 'workers',
  tables: ['workers'],
  handles: ['WorkerRegistered', 'WorkerCameOnline', 'WorkerWentOffline', 'WorkerRemoved'],
  async apply(stored: StoredEvent, client: PoolClient) {
    const event = stored as unknown as WorkerEvent & StoredEvent;
    switch (event.type) {
      case 'WorkerRegistered': {
        const d = event.data;
        await client.query(
          `INSERT INTO workers (id, name, zone, status, token_hash, capacity, advertise_ip, version, created_at, updated_at)
           VALUES ($1, $2, $3, 'registered', $4, NULL, NULL, $5, $6, $6)
           ON CONFLICT (id) DO NOTHING`,
          [d.workerId, d.name, d.zone ?? null, d.tokenHash, stored.version, stored.occurredAt],
        );
        return;
      }
      case 'WorkerCameOnline': {
        const d = event.data;
        await client.query(
          `UPDATE workers SET status = 'online', capacity = $2, advertise_ip = $3, version = $4, updated_at = $5 WHERE id = $1`,
          [d.workerId, JSON.stringify(d.capacity), d.advertiseIp ?? null, stored.version, stored.occurredAt],
        );
        return;
      }
      case 'WorkerRemoved':
        // Drained: the row goes, and with it the token hash, so the worker's token authenticates nothing.
        await client.query(`DELETE FROM workers WHERE id = $1`, [event.data.workerId]);
        return;
      case 'WorkerWentOffline':
        await client.query(`UPDATE workers SET status = 'offline', version = $2, updated_at = $3 WHERE id = $1`, [
          event.data.workerId,
          stored.version,
          stored.occurredAt,
        ]);
        return;
    }
  },
};
