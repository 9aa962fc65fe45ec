import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import { PG_POOL } from '../../database/pg-pool';
import type { AppRoute } from './routes';

interface RouteRow {
  app_id: string;
  name: string;
  zone: string | null;
  worker_id: string;
  host_port: number;
  advertise_ip: string | null;
}

const SELECT_ROUTES = `
  SELECT a.app_id, a.name, a.zone, a.worker_id, a.host_port, w.advertise_ip
  FROM routing_apps a LEFT JOIN routing_workers w ON w.worker_id = a.worker_id
  WHERE a.host_port IS NOT NULL`;

/** Reads the routing read model: one query for the apps, one batch query for their verified domains. */
@Injectable()
export class RoutesRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /** Routes of the apps running on one worker (with their verified domains when `withDomains`). */
  async routesOfWorker(workerId: string, opts: { withDomains: boolean }): Promise<AppRoute[]> {
    const { rows } = await this.pool.query<RouteRow>(`${SELECT_ROUTES} AND a.worker_id = $1`, [workerId]);
    return this.withDomains(rows, opts.withDomains);
  }

  /** Routes of every app that has a verified custom domain. */
  async routesWithVerifiedDomains(): Promise<AppRoute[]> {
    const { rows } = await this.pool.query<RouteRow>(
      `${SELECT_ROUTES} AND EXISTS (SELECT 1 FROM routing_domains d WHERE d.app_id = a.app_id AND d.verified)`,
    );
    return this.withDomains(rows, true);
  }

  /** Every routed app with its verified domains: the whole read model, in two queries. */
  async allRoutes(): Promise<AppRoute[]> {
    const [{ rows }, domains] = await Promise.all([
      this.pool.query<RouteRow>(SELECT_ROUTES),
      this.pool.query<{ app_id: string; hostname: string }>(`SELECT app_id, hostname FROM routing_domains WHERE verified ORDER BY app_id, hostname`),
    ]);
    return toRoutes(rows, groupHostnames(domains.rows));
  }

  /**
   * The current routes of the given apps, of every app on the given workers, and of the apps the
   * given deployments belong to (each with its verified domains). An app not routed any more is absent.
   */
  async routesOf(touched: { appIds: Iterable<string>; workerIds: Iterable<string>; deploymentIds: Iterable<string> }): Promise<AppRoute[]> {
    const appIds = [...touched.appIds];
    const workerIds = [...touched.workerIds];
    const deploymentIds = [...touched.deploymentIds];
    if (appIds.length + workerIds.length + deploymentIds.length === 0) return [];
    const { rows } = await this.pool.query<RouteRow>(
      `${SELECT_ROUTES} AND (a.app_id = ANY($1::uuid[]) OR a.worker_id = ANY($2::uuid[])
         OR a.app_id IN (SELECT app_id FROM routing_deployments WHERE deployment_id = ANY($3::uuid[])))`,
      [appIds, workerIds, deploymentIds],
    );
    return this.withDomains(rows, true);
  }

  /** Verified hostnames per app, sorted, for all the given apps in one query. */
  async listVerifiedDomainsByAppIds(appIds: readonly string[]): Promise<Map<string, string[]>> {
    const byApp = new Map<string, string[]>();
    if (appIds.length === 0) return byApp;
    const { rows } = await this.pool.query<{ app_id: string; hostname: string }>(
      // A join on the unnested ids (hashed), not `= ANY(array)`, which is a linear scan of the array per row.
      `SELECT d.app_id, d.hostname FROM routing_domains d JOIN unnest($1::uuid[]) AS ids(app_id) USING (app_id)
       WHERE d.verified ORDER BY d.app_id, d.hostname`,
      [appIds],
    );
    return groupHostnames(rows);
  }

  private async withDomains(rows: RouteRow[], domains: boolean): Promise<AppRoute[]> {
    return toRoutes(rows, domains ? await this.listVerifiedDomainsByAppIds(rows.map((r) => r.app_id)) : new Map<string, string[]>());
  }
}

/** Rows of (app, hostname), ordered by app then hostname, as sorted lists per app. */
function groupHostnames(rows: readonly { app_id: string; hostname: string }[]): Map<string, string[]> {
  const byApp = new Map<string, string[]>();
  for (const r of rows) {
    const list = byApp.get(r.app_id);
    if (list) list.push(r.hostname);
    else byApp.set(r.app_id, [r.hostname]);
  }
  return byApp;
}

function toRoutes(rows: readonly RouteRow[], domains: ReadonlyMap<string, string[]>): AppRoute[] {
  return rows.map((r) => ({
    appId: r.app_id,
    appName: r.name,
    zone: r.zone,
    workerId: r.worker_id,
    hostPort: r.host_port,
    advertiseIp: r.advertise_ip,
    domains: domains.get(r.app_id) ?? [],
  }));
}
