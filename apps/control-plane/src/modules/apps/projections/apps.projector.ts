import { type AppEvent, type DeploymentEvent } from '@berth/contracts';
import type { Projector, StoredEvent } from '@berth/event-store';
import type { PoolClient } from 'pg';

type Handled = AppEvent | Extract<DeploymentEvent, { type: 'DeploymentRequested' | 'JobSucceeded' | 'JobFailed' }>;

/**
 * The app a deployment belongs to, from this projector's own `app_deployments` (filled at
 * DeploymentRequested), so it depends neither on the event log's layout nor on another read model.
 */
const APP_OF_DEPLOYMENT = `(SELECT app_id FROM app_deployments WHERE deployment_id = $1)`;

/**
 * Read model `apps`: one row per live app, with its status and the container currently serving it.
 * Deleted apps leave the table (their name becomes free for a new app).
 */
export const appsProjector: Projector = {
  name: 'apps',
  tables: ['apps', 'app_deployments'],
  handles: ['AppCreated', 'AppUpdated', 'AppDeleted', 'AppStopped', 'AppRestored', 'DeploymentRequested', 'JobSucceeded', 'JobFailed'],

  async apply(stored: StoredEvent, client: PoolClient) {
    const event = stored as unknown as Handled & StoredEvent;
    const at = stored.occurredAt;
    switch (event.type) {
      case 'AppCreated':
        await client.query(
          `INSERT INTO apps (id, name, spec, status, version, created_at, updated_at)
           VALUES ($1, $2, $3, 'created', $4, $5, $5) ON CONFLICT (id) DO NOTHING`,
          [event.data.appId, event.data.spec.name, JSON.stringify(event.data.spec), stored.version, at],
        );
        return;
      case 'AppUpdated':
        await client.query(`UPDATE apps SET spec = $2, version = $3, updated_at = $4 WHERE id = $1`, [
          event.data.appId,
          JSON.stringify(event.data.spec),
          stored.version,
          at,
        ]);
        return;
      case 'AppDeleted':
        await client.query(`DELETE FROM apps WHERE id = $1`, [event.data.appId]);
        await client.query(`DELETE FROM app_deployments WHERE app_id = $1`, [event.data.appId]);
        return;
      case 'AppStopped':
        await client.query(`UPDATE apps SET status = 'stopped', status_reason = $3, updated_at = $2 WHERE id = $1`, [event.data.appId, at, event.data.reason]);
        return;
      case 'AppRestored':
        await client.query(`UPDATE apps SET status = 'running', status_reason = NULL, updated_at = $2 WHERE id = $1 AND current_deployment_id = $3`, [
          event.data.appId,
          at,
          event.data.deploymentId,
        ]);
        return;
      case 'DeploymentRequested':
        await client.query(`INSERT INTO app_deployments (deployment_id, app_id) VALUES ($1, $2) ON CONFLICT (deployment_id) DO NOTHING`, [
          event.data.deploymentId,
          event.data.appId,
        ]);
        // A container already serving keeps the app `running` while the new version rolls out.
        await client.query(
          `UPDATE apps SET status = CASE WHEN current_deployment_id IS NULL THEN 'deploying' ELSE status END, updated_at = $2
           WHERE id = $1`,
          [event.data.appId, at],
        );
        return;
      case 'JobSucceeded':
        await client.query(
          `UPDATE apps SET status = 'running', status_reason = NULL, current_deployment_id = $2, current_worker_id = $3, current_host_port = $4, updated_at = $5
           WHERE id = ${APP_OF_DEPLOYMENT}`,
          [event.data.deploymentId, event.data.deploymentId, event.data.workerId, event.data.hostPort, at],
        );
        return;
      case 'JobFailed':
        // A failed rollout leaves the old container serving; only an app with nothing current fails.
        await client.query(
          `UPDATE apps SET status = CASE WHEN current_deployment_id IS NULL THEN 'failed' ELSE status END, updated_at = $2
           WHERE id = ${APP_OF_DEPLOYMENT}`,
          [event.data.deploymentId, at],
        );
        return;
      default:
        return;
    }
  },
};
