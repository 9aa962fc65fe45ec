import type { AppEvent, EventOfType } from '@berth/contracts';
import type { Projector, StoredEvent } from '@berth/event-store';
import type { PoolClient } from 'pg';

/**
 * What the alerts module needs to know of apps, from their events, in its own tables: which apps exist
 * and their CPU limit (`alert_apps`: cpu rules are a percent of it), and every container exit
 * (`alert_app_exits`: crashloop and restarts count them within a window). Written with the checkpoint,
 * so each exit is counted exactly once.
 */
export const alertAppsProjector: Projector = {
  name: 'alert-apps',
  tables: ['alert_apps', 'alert_app_exits'],
  handles: ['AppCreated', 'AppUpdated', 'AppDeleted', 'ContainerExited'],

  async apply(stored: StoredEvent, client: PoolClient) {
    const event = stored as unknown as AppEvent | EventOfType<'ContainerExited'>;
    switch (event.type) {
      case 'AppCreated':
      case 'AppUpdated':
        await client.query(`INSERT INTO alert_apps (app_id, cpus) VALUES ($1, $2) ON CONFLICT (app_id) DO UPDATE SET cpus = $2`, [
          event.data.appId,
          event.data.spec.cpus ?? null,
        ]);
        return;
      case 'AppDeleted':
        await client.query(`DELETE FROM alert_apps WHERE app_id = $1`, [event.data.appId]);
        await client.query(`DELETE FROM alert_app_exits WHERE app_id = $1`, [event.data.appId]);
        return;
      case 'ContainerExited': {
        const d = event.data;
        await client.query(
          `INSERT INTO alert_app_exits (event_id, app_id, container_id, exit_code, at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (event_id) DO NOTHING`,
          [stored.eventId, d.appId, d.containerId, d.exitCode, d.at],
        );
        return;
      }
      default:
        return;
    }
  },
};
