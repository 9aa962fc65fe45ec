import { type AppEvent, type DeploymentEvent, type DomainEvent, type WorkerEvent } from '@berth/contracts';
import type { Projector, StoredEvent } from '@berth/event-store';
import type { PoolClient } from 'pg';

type Handled =
  | AppEvent
  | Extract<DeploymentEvent, { type: 'DeploymentRequested' | 'JobSucceeded' }>
  | Extract<WorkerEvent, { type: 'WorkerRegistered' | 'WorkerCameOnline' | 'WorkerRemoved' }>
  | DomainEvent;

/** Every event type that can change a route: the Traefik bodies and agents' routes follow these. */
export const ROUTE_EVENT_TYPES: readonly Exclude<Handled['type'], 'DeploymentRequested'>[] = [
  'AppCreated',
  'AppUpdated',
  'AppDeleted',
  'JobSucceeded',
  'WorkerRegistered',
  'WorkerCameOnline',
  'WorkerRemoved',
  'DomainAdded',
  'DomainVerified',
  'DomainUnrouted',
  'DomainRemoved',
];

/** The app a deployment belongs to, from this projector's own `routing_deployments` (filled at DeploymentRequested). */
const APP_OF_DEPLOYMENT = `(SELECT app_id FROM routing_deployments WHERE deployment_id = $1)`;

/**
 * Read model of routing: each app's name and zone and the worker and host port of its current
 * container (the last successful deployment: the route moves only once the new container is healthy),
 * each worker's advertise address, and each custom domain with whether it is verified. An app stopped
 * because its worker went offline keeps its route: its container may well still serve (the agent,
 * not the host, may be what is down), and no other address would serve it anyway.
 */
export const routesProjector: Projector = {
  name: 'routes',
  tables: ['routing_apps', 'routing_deployments', 'routing_workers', 'routing_domains'],
  handles: ['DeploymentRequested', ...ROUTE_EVENT_TYPES],

  async apply(stored: StoredEvent, client: PoolClient) {
    const event = stored as unknown as Handled & StoredEvent;
    switch (event.type) {
      case 'AppCreated':
      case 'AppUpdated':
        await client.query(
          `INSERT INTO routing_apps (app_id, name, zone) VALUES ($1, $2, $3)
           ON CONFLICT (app_id) DO UPDATE SET name = EXCLUDED.name, zone = EXCLUDED.zone`,
          [event.data.appId, event.data.spec.name, event.data.spec.zone ?? null],
        );
        return;
      case 'AppDeleted':
        await client.query(`DELETE FROM routing_apps WHERE app_id = $1`, [event.data.appId]);
        await client.query(`DELETE FROM routing_domains WHERE app_id = $1`, [event.data.appId]);
        await client.query(`DELETE FROM routing_deployments WHERE app_id = $1`, [event.data.appId]);
        return;
      case 'DeploymentRequested':
        await client.query(`INSERT INTO routing_deployments (deployment_id, app_id) VALUES ($1, $2) ON CONFLICT (deployment_id) DO NOTHING`, [
          event.data.deploymentId,
          event.data.appId,
        ]);
        return;
      case 'JobSucceeded':
        await client.query(`UPDATE routing_apps SET worker_id = $2, host_port = $3 WHERE app_id = ${APP_OF_DEPLOYMENT}`, [
          event.data.deploymentId,
          event.data.workerId,
          event.data.hostPort,
        ]);
        return;
      case 'WorkerRegistered':
        await client.query(`INSERT INTO routing_workers (worker_id) VALUES ($1) ON CONFLICT (worker_id) DO NOTHING`, [event.data.workerId]);
        return;
      case 'WorkerCameOnline':
        if (event.data.advertiseIp === undefined) return;
        await client.query(
          `INSERT INTO routing_workers (worker_id, advertise_ip) VALUES ($1, $2)
           ON CONFLICT (worker_id) DO UPDATE SET advertise_ip = EXCLUDED.advertise_ip`,
          [event.data.workerId, event.data.advertiseIp],
        );
        return;
      case 'WorkerRemoved':
        // A removed worker serves nothing: its apps are unrouted until they are deployed elsewhere.
        await client.query(`UPDATE routing_apps SET worker_id = NULL, host_port = NULL WHERE worker_id = $1`, [event.data.workerId]);
        await client.query(`DELETE FROM routing_workers WHERE worker_id = $1`, [event.data.workerId]);
        return;
      case 'DomainAdded':
        await client.query(
          `INSERT INTO routing_domains (domain_id, app_id, hostname, verified) VALUES ($1, $2, $3, false) ON CONFLICT (domain_id) DO NOTHING`,
          [event.data.domainId, event.data.appId, event.data.hostname],
        );
        return;
      case 'DomainVerified':
        await client.query(`UPDATE routing_domains SET verified = true WHERE domain_id = $1`, [event.data.domainId]);
        return;
      case 'DomainUnrouted':
        await client.query(`UPDATE routing_domains SET verified = false WHERE domain_id = $1`, [event.data.domainId]);
        return;
      case 'DomainRemoved':
        await client.query(`DELETE FROM routing_domains WHERE domain_id = $1`, [event.data.domainId]);
        return;
      default:
        return;
    }
  },
};
