/**
 * The routes read model held in memory: every routed app by id and by worker, so a body is rendered
 * without a query. It is loaded whole once (at start) and then kept by replacing the rows that a batch
 * of route events touched with what the tables say after that batch was projected. Pure: the rows
 * come from the caller.
 */
import { isUuid } from '@berth/core';
import type { StoredEvent } from '@berth/event-store';
import type { AppRoute } from './routes';

/** What a batch of route events touched: re-read these apps, and every app on these workers. */
export interface TouchedRoutes {
  appIds: Set<string>;
  workerIds: Set<string>;
  /** JobSucceeded names a deployment; its app comes from the read model's deployments table. */
  deploymentIds: Set<string>;
}

/** The keys a batch of route events (ROUTE_EVENT_TYPES) may have changed. */
export function touchedBy(events: readonly Pick<StoredEvent, 'type' | 'data'>[]): TouchedRoutes {
  const touched: TouchedRoutes = { appIds: new Set(), workerIds: new Set(), deploymentIds: new Set() };
  for (const e of events) {
    const data = e.data as { appId?: unknown; workerId?: unknown; deploymentId?: unknown };
    switch (e.type) {
      case 'JobSucceeded':
        if (isUuid(data.deploymentId)) touched.deploymentIds.add(data.deploymentId.toLowerCase());
        break;
      case 'WorkerRegistered':
      case 'WorkerCameOnline':
      case 'WorkerRemoved':
        if (isUuid(data.workerId)) touched.workerIds.add(data.workerId.toLowerCase());
        break;
      default:
        if (isUuid(data.appId)) touched.appIds.add(data.appId.toLowerCase());
    }
  }
  return touched;
}

export class RoutesModel {
  private readonly apps = new Map<string, AppRoute>();
  private readonly byWorker = new Map<string, Map<string, AppRoute>>();

  /** Replaces everything with `routes` (every routed app). */
  load(routes: readonly AppRoute[]): void {
    this.apps.clear();
    this.byWorker.clear();
    for (const r of routes) this.put(r);
  }

  /**
   * What the tables now say about some apps and workers: each of `appIds` and every app that was or
   * now is on one of `workerIds` becomes its row in `routes`, or goes away without one.
   */
  replace(appIds: Iterable<string>, workerIds: Iterable<string>, routes: readonly AppRoute[]): void {
    for (const id of appIds) this.remove(id);
    for (const w of workerIds) for (const id of [...(this.byWorker.get(w)?.keys() ?? [])]) this.remove(id);
    for (const r of routes) this.put(r);
  }

  routesOfWorker(workerId: string): AppRoute[] {
    return [...(this.byWorker.get(workerId)?.values() ?? [])];
  }

  routesWithVerifiedDomains(): AppRoute[] {
    const out: AppRoute[] = [];
    for (const r of this.apps.values()) if (r.domains.length > 0) out.push(r);
    return out;
  }

  get size(): number {
    return this.apps.size;
  }

  private put(r: AppRoute): void {
    this.remove(r.appId);
    this.apps.set(r.appId, r);
    let onWorker = this.byWorker.get(r.workerId);
    if (!onWorker) this.byWorker.set(r.workerId, (onWorker = new Map()));
    onWorker.set(r.appId, r);
  }

  private remove(appId: string): void {
    const old = this.apps.get(appId);
    if (!old) return;
    this.apps.delete(appId);
    const onWorker = this.byWorker.get(old.workerId);
    onWorker?.delete(appId);
    if (onWorker?.size === 0) this.byWorker.delete(old.workerId);
  }
}
