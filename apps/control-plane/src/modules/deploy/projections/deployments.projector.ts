import { DEFAULT_APP_MEMORY_MB, type DeploymentEvent } from '@berth/contracts';
import type { Projector, StoredEvent } from '@berth/event-store';
import type { PoolClient } from 'pg';
import { assertUnreachable } from '../../../common/errors';

/**
 * Read model `deployments`: one row per deployment with its status, job and outcome. Build output
 * (`deployment_logs`) is telemetry written by DeployService directly, so a rebuild leaves it alone.
 */
export const deploymentsProjector: Projector = {
  name: 'deployments',
  tables: ['deployments'],
  handles: ['DeploymentRequested', 'DeploymentWaiting', 'JobAssigned', 'JobStarted', 'ImageBuilt', 'ContainerStarted', 'JobSucceeded', 'JobFailed'],

  async apply(stored: StoredEvent, client: PoolClient) {
    const event = stored as unknown as DeploymentEvent;
    const at = stored.occurredAt;
    const id = event.data.deploymentId;
    /** Every later event: set these columns, bump version and updated_at. */
    const update = (set: Record<string, unknown>) => {
      const cols = Object.keys(set);
      const assignments = cols.map((c, i) => `${c} = $${i + 4}`).join(', ');
      return client.query(`UPDATE deployments SET version = $2, updated_at = $3${cols.length ? ', ' : ''}${assignments} WHERE id = $1`, [
        id,
        stored.version,
        at,
        ...cols.map((c) => set[c]),
      ]);
    };
    switch (event.type) {
      case 'DeploymentRequested': {
        const { appId, app, commit } = event.data;
        await client.query(
          `INSERT INTO deployments (id, app_id, status, commit, memory_mb, zone, correlation_id, version, created_at, updated_at)
           VALUES ($1, $2, 'queued', $3, $4, $5, $6, $7, $8, $8) ON CONFLICT (id) DO NOTHING`,
          [id, appId, commit ?? null, app.memoryMb ?? DEFAULT_APP_MEMORY_MB, app.zone ?? null, stored.metadata.correlationId ?? null, stored.version, at],
        );
        return;
      }
      case 'DeploymentWaiting':
        await update({ reason: event.data.reason });
        return;
      case 'JobAssigned':
        await update({ status: 'assigned', reason: null, job_id: event.data.jobId, worker_id: event.data.workerId, memory_mb: event.data.memoryMb });
        return;
      case 'JobStarted':
        await update(event.data.commit ? { status: event.data.phase, commit: event.data.commit } : { status: event.data.phase });
        return;
      case 'ImageBuilt':
        await update({ status: 'starting' });
        return;
      case 'ContainerStarted':
        await update({ container_id: event.data.containerId, host_port: event.data.hostPort });
        return;
      case 'JobSucceeded':
        await update({ status: 'succeeded', reason: null, container_id: event.data.containerId, host_port: event.data.hostPort, finished_at: at });
        return;
      case 'JobFailed':
        await update({ status: 'failed', reason: event.data.reason, log_tail: JSON.stringify(event.data.logTail), finished_at: at });
        return;
      case 'ContainerExited':
      case 'JobResultArrivedLate':
        return;
      default:
        return assertUnreachable(event);
    }
  },
};
