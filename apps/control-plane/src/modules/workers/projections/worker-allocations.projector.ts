import { DEFAULT_APP_MEMORY_MB, type AppEvent, type DeploymentEvent } from '@berth/contracts';
import type { Projector, StoredEvent } from '@berth/event-store';
import type { PoolClient } from 'pg';

type Handled = AppEvent | DeploymentEvent;

/**
 * Read model `worker_allocations`: the memory placed on each worker, one row per deployment. A job in
 * progress counts (`active`), so does the container currently serving its app (`running`); a newer
 * success retires the app's previous container, a failure or a deletion frees its row, and a stopped
 * app (its worker went offline) counts again only once it is restored.
 */
export const workerAllocationsProjector: Projector = {
  name: 'worker-allocations',
  tables: ['worker_allocations'],
  handles: ['DeploymentRequested', 'JobAssigned', 'JobSucceeded', 'JobFailed', 'AppUpdated', 'AppDeleted', 'AppStopped', 'AppRestored'],

  async apply(stored: StoredEvent, client: PoolClient) {
    const event = stored as unknown as Handled & StoredEvent;
    switch (event.type) {
      case 'DeploymentRequested': {
        const { deploymentId, appId, app } = event.data;
        await client.query(
          `INSERT INTO worker_allocations (deployment_id, app_id, app_name, worker_id, memory_mb, state) VALUES ($1, $2, $3, NULL, $4, 'queued')
           ON CONFLICT (deployment_id) DO NOTHING`,
          [deploymentId, appId, app.name, app.memoryMb ?? DEFAULT_APP_MEMORY_MB],
        );
        return;
      }
      case 'JobAssigned':
        await client.query(`UPDATE worker_allocations SET worker_id = $2, memory_mb = $3, state = 'active' WHERE deployment_id = $1`, [
          event.data.deploymentId,
          event.data.workerId,
          event.data.memoryMb,
        ]);
        return;
      case 'JobSucceeded':
        await client.query(
          `DELETE FROM worker_allocations
            WHERE state IN ('running', 'stopped') AND deployment_id <> $1
              AND app_id = (SELECT app_id FROM worker_allocations WHERE deployment_id = $1)`,
          [event.data.deploymentId],
        );
        await client.query(`UPDATE worker_allocations SET worker_id = $2, state = 'running' WHERE deployment_id = $1`, [
          event.data.deploymentId,
          event.data.workerId,
        ]);
        return;
      case 'JobFailed':
        await client.query(`DELETE FROM worker_allocations WHERE deployment_id = $1 AND state NOT IN ('running', 'stopped')`, [event.data.deploymentId]);
        return;
      case 'AppUpdated':
        // The container serving the app is counted with the app's memory as it is now.
        await client.query(`UPDATE worker_allocations SET memory_mb = $2 WHERE app_id = $1 AND state IN ('running', 'stopped')`, [
          event.data.appId,
          event.data.spec.memoryMb ?? DEFAULT_APP_MEMORY_MB,
        ]);
        return;
      case 'AppDeleted':
        await client.query(`DELETE FROM worker_allocations WHERE app_id = $1`, [event.data.appId]);
        return;
      case 'AppStopped':
        await client.query(`UPDATE worker_allocations SET state = 'stopped' WHERE app_id = $1 AND state = 'running'`, [event.data.appId]);
        return;
      case 'AppRestored':
        await client.query(`UPDATE worker_allocations SET state = 'running' WHERE deployment_id = $1 AND state = 'stopped'`, [event.data.deploymentId]);
        return;
      default:
        return;
    }
  },
};
