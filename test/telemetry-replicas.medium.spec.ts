import type { AppStatsView, BuildLogLine } from '@berth/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './support/database';
import { buildDist, eventually, freePort, startControlPlaneProcess, type BerthProcess } from './support/processes';
import { collect, connectClient, lines, processApi, runApp, sendLines, type RunningApp } from './telemetry-client';
import { send } from './workers-agent-client';

const TOKEN = 'bat_replicas_admin_token_0123456789';

/** Two control planes as real processes on one database: what an agent sends to A reaches a client of B. */
describe('telemetry across two control-plane processes (real PostgreSQL, socket.io)', () => {
  let db: TestDatabase;
  const procs: BerthProcess[] = [];
  let a: ReturnType<typeof processApi>;
  let b: ReturnType<typeof processApi>;
  let app: RunningApp;
  const sockets: { close(): void }[] = [];

  const start = async () => {
    const port = await freePort();
    procs.push(startControlPlaneProcess({ databaseUrl: db.url, port, adminToken: TOKEN, extra: { BERTH_LOG_LEVEL: 'warn' } }));
    const url = `http://127.0.0.1:${port}`;
    await eventually('a control plane to answer /healthz', async () => ((await fetch(`${url}/healthz`).catch(() => undefined))?.ok ? true : undefined), 60_000, 100);
    return processApi(url, TOKEN);
  };

  beforeAll(async () => {
    buildDist();
    db = await createTestDatabase();
    a = await start();
    b = await start();
    app = await runApp(a, 'replicated', a.url);
  }, 120_000);
  afterAll(async () => {
    for (const s of sockets) s.close();
    app?.agent.close();
    for (const p of procs) await p.stop();
    await db?.drop();
  });

  it('a client of replica B receives the stats an agent sends to replica A, and B serves them over HTTP', async () => {
    let views!: ReturnType<typeof collect<AppStatsView>>;
    sockets.push(await connectClient(b.url, `/api/apps/${app.appId}/ws/stats`, { token: TOKEN }, (s) => (views = collect(s, 'stats'))));
    await views.until((v) => v.length >= 1);
    const sampledAt = new Date().toISOString();
    const reply = await send(app.agent, 'stats:snapshots' as never, {
      sampledAt,
      containers: [{ containerId: app.containerId, appId: app.appId, deploymentId: app.deploymentId, cpuPercent: 33, memoryBytes: 1, memoryLimitBytes: 2, netRxBytes: 3, netTxBytes: 4, blockReadBytes: 5, blockWriteBytes: 6, pids: 7, restarts: 0 }],
    });
    expect(reply).toEqual({ ok: true, result: { stored: 1, skipped: 0 } });
    const pushed = await views.until((v) => v.some((x) => x.live));
    expect(pushed.find((x) => x.live)).toMatchObject({ live: true, cpuPercent: 33, sampledAt });
    expect(await (await b.api(`/api/apps/${app.appId}/stats`)).json()).toMatchObject({ live: true, cpuPercent: 33 });
  });

  it('a client of replica B receives history and then the live log lines an agent sends to replica A, each once, in order', async () => {
    await sendLines(app, lines(1, 300));
    let got!: ReturnType<typeof collect<{ id: string; text: string }>>;
    sockets.push(await connectClient(b.url, `/api/apps/${app.appId}/ws/logs`, { token: TOKEN }, (s) => (got = collect(s, 'lines'))));
    for (let from = 301; from <= 1_000; from += 100) await sendLines(app, lines(from, from + 99));
    await got.until((items) => items.length >= 1_000);
    expect(got.items.map((l) => l.text)).toEqual(lines(1, 1_000).map((l) => l.text));
  });

  it('a client of replica B follows build output the agent sends to replica A', async () => {
    let got!: ReturnType<typeof collect<BuildLogLine>>;
    sockets.push(await connectClient(b.url, `/api/deployments/${app.deploymentId}/ws/logs`, { token: TOKEN }, (s) => (got = collect(s, 'build-lines'))));
    const at = new Date().toISOString();
    expect(await send(app.agent, 'job:log', { jobId: app.jobId, lines: [{ seq: 1, line: 'Step 1/2', at }, { seq: 2, line: 'Step 2/2', at }] })).toEqual({ ok: true });
    await got.until((items) => items.length >= 2);
    expect(await send(app.agent, 'job:log', { jobId: app.jobId, lines: [{ seq: 3, line: 'done', at }] })).toEqual({ ok: true });
    await got.until((items) => items.length >= 3);
    expect(got.items.map((l) => [l.seq, l.line])).toEqual([[1, 'Step 1/2'], [2, 'Step 2/2'], [3, 'done']]);
    const bad = (await connectClient(b.url, '/api/deployments/00000000-0000-4000-8000-000000000000/ws/logs', { token: TOKEN }).catch((e: unknown) => e)) as Error;
    expect(bad.message).toBe('deployment 00000000-0000-4000-8000-000000000000 does not exist');
  });

  it('replica B refuses a wrong token and an unknown app with a connect_error', async () => {
    const wrong = (await connectClient(b.url, `/api/apps/${app.appId}/ws/logs`, { token: 'nope' }).catch((e: unknown) => e)) as Error;
    expect(wrong.message).toBe('the API token is not valid');
    const unknown = (await connectClient(b.url, '/api/apps/00000000-0000-4000-8000-000000000000/ws/stats', { token: TOKEN }).catch((e: unknown) => e)) as Error;
    expect(unknown.message).toBe('app 00000000-0000-4000-8000-000000000000 does not exist');
  });
});
