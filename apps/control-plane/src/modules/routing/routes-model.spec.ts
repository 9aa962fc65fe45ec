import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { AppRoute } from './routes';
import { RoutesModel, touchedBy } from './routes-model';

const W1 = randomUUID();
const W2 = randomUUID();
const route = (appId: string, workerId: string, domains: string[] = []): AppRoute => ({ appId, appName: `a-${appId.slice(0, 4)}`, zone: null, workerId, hostPort: 30_000, advertiseIp: '10.0.0.1', domains });
const ids = (routes: AppRoute[]) => routes.map((r) => r.appId).sort();

describe('RoutesModel', () => {
  it('replacing an app moves it between workers, or drops it without a row', () => {
    const [a, b] = [randomUUID(), randomUUID()];
    const model = new RoutesModel();
    model.load([route(a, W1, ['a.example']), route(b, W1)]);
    model.replace([a], [], [route(a, W2, ['a.example'])]);
    expect(ids(model.routesOfWorker(W1))).toEqual([b]);
    expect(ids(model.routesOfWorker(W2))).toEqual([a]);
    model.replace([b], [], []);
    expect(model.routesOfWorker(W1)).toEqual([]);
    expect(model.size).toBe(1);
    expect(ids(model.routesWithVerifiedDomains())).toEqual([a]);
  });

  it('replacing a worker drops the apps it had that are not in the new rows', () => {
    const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
    const model = new RoutesModel();
    model.load([route(a, W1), route(b, W1), route(c, W2)]);
    model.replace([], [W1], [{ ...route(a, W1), advertiseIp: '10.0.0.9' }]);
    expect(model.routesOfWorker(W1)).toEqual([{ ...route(a, W1), advertiseIp: '10.0.0.9' }]);
    expect(ids(model.routesOfWorker(W2))).toEqual([c]);
    expect(model.size).toBe(2);
  });
});

describe('touchedBy', () => {
  it('names the apps, workers and deployments a batch of route events touched, lowercased; ignores malformed ids', () => {
    const [app, worker, deployment] = [randomUUID(), randomUUID(), randomUUID()];
    const touched = touchedBy([
      { type: 'AppUpdated', data: { appId: app.toUpperCase() } },
      { type: 'DomainVerified', data: { domainId: randomUUID(), appId: app } },
      { type: 'WorkerCameOnline', data: { workerId: worker } },
      { type: 'JobSucceeded', data: { deploymentId: deployment, workerId: randomUUID() } },
      { type: 'AppDeleted', data: { appId: 'not-a-uuid' } },
    ]);
    expect(touched).toEqual({ appIds: new Set([app]), workerIds: new Set([worker]), deploymentIds: new Set([deployment]) });
  });
});
