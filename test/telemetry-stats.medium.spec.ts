import type { AppStatsView, ContainerStatsSample } from '@berth/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StatsService } from '../apps/control-plane/src/modules/stats/stats.service';
import { startControlPlane, TEST_ADMIN_TOKEN, type RunningControlPlane } from './support/control-plane';
import { createTestDatabase, type TestDatabase } from './support/database';
import { collect, connectClient, deployAndRun, runApp, type RunningApp } from './telemetry-client';
import { eventually, send } from './workers-agent-client';

const sample = (app: { appId: string; deploymentId: string; containerId: string }, cpuPercent: number): ContainerStatsSample => ({
  containerId: app.containerId, appId: app.appId, deploymentId: app.deploymentId, cpuPercent,
  memoryBytes: 64 << 20, memoryLimitBytes: 256 << 20, netRxBytes: 1000, netTxBytes: 2000, blockReadBytes: 3000, blockWriteBytes: 4000, pids: 7, restarts: 1,
});

describe('live stats: ingestion, endpoint and namespaces (real PostgreSQL, socket.io)', () => {
  let db: TestDatabase;
  let cp: RunningControlPlane;
  let app: RunningApp;
  let other: RunningApp;
  const sockets: { close(): void }[] = [];
  const stats = async (appId: string) => (await (await cp.api(`/api/apps/${appId}/stats`)).json()) as AppStatsView;
  const tick = (a: RunningApp, containers: ContainerStatsSample[], sampledAt = new Date().toISOString()) =>
    send(a.agent, 'stats:snapshots' as never, { sampledAt, containers });

  beforeAll(async () => {
    db = await createTestDatabase();
    cp = await startControlPlane(db.url);
    app = await runApp(cp, 'stats-app');
    other = await runApp(cp, 'stats-other');
  });
  afterAll(async () => {
    for (const s of sockets) s.close();
    app?.agent.close();
    other?.agent.close();
    await cp?.close();
    await db?.drop();
  });

  it('answers live=false before any snapshot, 404 for an unknown app', async () => {
    expect(await stats(app.appId)).toEqual({ live: false });
    expect((await cp.api('/api/apps/00000000-0000-4000-8000-000000000000/stats')).status).toBe(404);
    expect((await cp.api('/api/apps/not-an-id/stats')).status).toBe(404);
  });

  it.each([
    ['a container the worker does not run', () => [sample(other, 5)], /not run by this worker: its deployment is not placed on this worker/],
    ['a container under the wrong app', () => [{ ...sample(app, 5), appId: other.appId }], /its deployment belongs to another app/],
    ['a container id its deployment does not run', () => [{ ...sample(app, 5), containerId: 'someone-else' }], /its deployment runs container c-stats-app/],
    ['a negative figure', () => [{ ...sample(app, 5), memoryBytes: -1 }], /containers\[1\]\.memoryBytes must be a number from 0/],
  ])('refuses %s with a 400 ack and stores nothing of the tick', async (_, containers, message) => {
    const reply = await tick(app, [sample(app, 3), ...containers()]);
    expect(reply).toMatchObject({ ok: false, error: { statusCode: 400 } });
    expect(!reply.ok && reply.error.message).toMatch(message);
    expect(await stats(app.appId)).toEqual({ live: false });
    expect(await stats(other.appId)).toEqual({ live: false });
  });

  it('refuses garbage', async () => {
    expect(await send(app.agent, 'stats:snapshots' as never, 42)).toMatchObject({ ok: false, error: { statusCode: 400, message: 'the stats:snapshots message must be an object' } });
    expect(await send(app.agent, 'stats:snapshots' as never, { sampledAt: 'yesterday', containers: [] })).toMatchObject({ ok: false, error: { statusCode: 400 } });
  });

  it('pushes each snapshot to /api/apps/:id/ws/stats and the aggregate to /api/ws/usage, and serves it over HTTP', async () => {
    let views!: ReturnType<typeof collect<AppStatsView>>;
    sockets.push(await connectClient(cp.url, `/api/apps/${app.appId}/ws/stats`, undefined, (s) => (views = collect<AppStatsView>(s, 'stats'))));
    await views.until((v) => v.length >= 1);
    expect(views.items[0]).toEqual({ live: false });
    let usage!: ReturnType<typeof collect<{ liveApps: number; cpuPercent: number; memoryBytes: number }>>;
    sockets.push(await connectClient(cp.url, '/api/ws/usage', undefined, (s) => (usage = collect(s, 'usage'))));
    await usage.until((u) => u.length >= 1);
    expect(usage.items[0]).toMatchObject({ liveApps: 0, cpuPercent: 0 });

    const sampledAt = new Date().toISOString();
    expect(await tick(app, [sample(app, 12.5)], sampledAt)).toEqual({ ok: true, result: { stored: 1, skipped: 0 } });
    const [, live] = await views.until((v) => v.length >= 2);
    const expected = { live: true, sampledAt, cpuPercent: 12.5, memoryBytes: 64 << 20, memoryLimitBytes: 256 << 20, netRxBytes: 1000, netTxBytes: 2000, blockReadBytes: 3000, blockWriteBytes: 4000, pids: 7, restarts: 1 };
    expect(live).toEqual(expected);
    expect(await stats(app.appId)).toEqual(expected);

    await tick(other, [sample(other, 30)]);
    const u = await usage.until((items) => items.some((x) => x.liveApps === 2));
    expect(u.find((x) => x.liveApps === 2)).toMatchObject({ cpuPercent: 42.5, memoryBytes: 2 * (64 << 20) });
  });

  it('a snapshot of a superseded deployment does not overwrite the current container', async () => {
    const previous = { ...app };
    const { deploymentId } = await deployAndRun(cp, app.agent, app.appId, 'c-stats-app-2');
    const current = { ...app, deploymentId, containerId: 'c-stats-app-2' };
    expect(await tick(app, [sample(current, 1), sample(previous, 99)])).toEqual({ ok: true, result: { stored: 1, skipped: 1 } });
    expect(await stats(app.appId)).toMatchObject({ live: true, cpuPercent: 1 });
    expect(await tick(app, [sample(previous, 99)])).toEqual({ ok: true, result: { stored: 0, skipped: 1 } });
    expect(await stats(app.appId)).toMatchObject({ live: true, cpuPercent: 1 });
  });

  it('refuses a bad token and an unknown app with a connect_error that says why, and a closed client leaves no listener behind', async () => {
    const bad = (await connectClient(cp.url, `/api/apps/${app.appId}/ws/stats`, { token: 'wrong' }).catch((e: unknown) => e)) as Error & { data?: { statusCode: number } };
    expect(bad.message).toBe('the API token is not valid');
    expect(bad.data?.statusCode).toBe(401);
    const none = (await connectClient(cp.url, `/api/apps/${app.appId}/ws/stats`, {}).catch((e: unknown) => e)) as Error;
    expect(none.message).toMatch(/missing API token/);
    const unknown = (await connectClient(cp.url, '/api/apps/00000000-0000-4000-8000-000000000000/ws/stats').catch((e: unknown) => e)) as Error & { data?: { statusCode: number } };
    expect(unknown.message).toBe('app 00000000-0000-4000-8000-000000000000 does not exist');
    expect(unknown.data?.statusCode).toBe(404);
    const usageBad = (await connectClient(cp.url, '/api/ws/usage', { token: 'wrong' }).catch((e: unknown) => e)) as Error;
    expect(usageBad.message).toBe('the API token is not valid');

    for (const s of sockets.splice(0)) s.close();
    const store = cp.app.get(StatsService).store;
    const clients = await Promise.all(Array.from({ length: 5 }, () => connectClient(cp.url, `/api/apps/${other.appId}/ws/stats`, { token: TEST_ADMIN_TOKEN })));
    await eventually(async () => store.listenerCount(other.appId), (n) => n === 5);
    for (const c of clients) c.close();
    expect(await eventually(async () => store.listenerCount(other.appId) + store.listenerCount(app.appId), (n) => n === 0)).toBe(0);
  });
});
