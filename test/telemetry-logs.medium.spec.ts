import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_LOG_LINES_PER_BATCH } from '../apps/control-plane/src/modules/logs/log-lines.messages';
import { startControlPlane, type RunningControlPlane } from './support/control-plane';
import { createTestDatabase, type TestDatabase } from './support/database';
import { collect, connectClient, lines, runApp, sendLines, type RunningApp } from './telemetry-client';
import { send } from './workers-agent-client';

interface ApiLine { id: string; ts: string; stream: string; text: string; truncated: boolean; deploymentId: string }

describe('runtime logs: ingestion, API and history-then-live namespace (real PostgreSQL, socket.io)', () => {
  let db: TestDatabase;
  let cp: RunningControlPlane;
  let app: RunningApp;
  let other: RunningApp;
  const sockets: { close(): void }[] = [];

  const stored = async (appId: string) => {
    const c = new Client({ connectionString: db.url });
    await c.connect();
    try {
      return (await c.query<{ n: number }>('SELECT count(*)::int AS n FROM runtime_logs WHERE app_id = $1', [appId])).rows[0].n;
    } finally {
      await c.end();
    }
  };
  const page = async (appId: string, query = '') => (await (await cp.api(`/api/apps/${appId}/logs${query}`)).json()) as { lines: ApiLine[]; next: string | null };

  beforeAll(async () => {
    db = await createTestDatabase();
    cp = await startControlPlane(db.url);
    app = await runApp(cp, 'logs-app');
    other = await runApp(cp, 'logs-other');
  });
  afterAll(async () => {
    for (const s of sockets) s.close();
    app?.agent.close();
    other?.agent.close();
    await cp?.close();
    await db?.drop();
  });

  it.each([
    ['a container the worker does not run', (a: RunningApp) => ({ containerId: other.containerId, appId: other.appId, deploymentId: other.deploymentId, lines: lines(1, 2) }), /not run by this worker/],
    ['a container of another app', (a: RunningApp) => ({ containerId: a.containerId, appId: other.appId, deploymentId: a.deploymentId, lines: lines(1, 2) }), /not run by this worker: its deployment belongs to another app/],
    ['sequence numbers going backwards', (a: RunningApp) => ({ containerId: a.containerId, appId: a.appId, deploymentId: a.deploymentId, lines: [...lines(5, 6), ...lines(3, 3)] }), /lines\[2\]\.seq must be above the line before it/],
    ['a zero seq', (a: RunningApp) => ({ containerId: a.containerId, appId: a.appId, deploymentId: a.deploymentId, lines: lines(0, 1) }), /lines\[0\]\.seq must be a whole number from 1/],
    ['an oversized batch', (a: RunningApp) => ({ containerId: a.containerId, appId: a.appId, deploymentId: a.deploymentId, lines: lines(1, MAX_LOG_LINES_PER_BATCH + 1) }), /lines must have at most 5000 items/],
    ['a line over 8 KiB', (a: RunningApp) => ({ containerId: a.containerId, appId: a.appId, deploymentId: a.deploymentId, lines: lines(1, 2, (s) => (s === 2 ? 'é'.repeat(4097) : 'ok')) }), /lines\[1\]\.text must be at most 8192 bytes/],
    ['a NUL byte', (a: RunningApp) => ({ containerId: a.containerId, appId: a.appId, deploymentId: a.deploymentId, lines: lines(1, 1, () => 'a\0b') }), /must not contain a NUL byte/],
    ['garbage', () => 'not a message', /the logs:lines message must be an object/],
    ['a bad stream', (a: RunningApp) => ({ containerId: a.containerId, appId: a.appId, deploymentId: a.deploymentId, lines: [{ ...lines(1, 1)[0], stream: 'stdin' }] }), /stream must be one of stdout, stderr/],
  ])('refuses %s with a 400 ack and stores nothing', async (_, payload, message) => {
    const reply = await send(app.agent, 'logs:lines' as never, payload(app));
    expect(reply).toMatchObject({ ok: false, error: { statusCode: 400 } });
    expect(!reply.ok && reply.error.message).toMatch(message);
    expect(await stored(app.appId)).toBe(0);
    expect(await stored(other.appId)).toBe(0);
    expect(app.agent.connected).toBe(true);
  });

  it('stores a batch once however often it is resent, and pages it through the API', async () => {
    expect(await sendLines(app, lines(1, 3))).toEqual({ ok: true, result: { stored: 3, duplicates: 0 } });
    expect(await sendLines(app, lines(1, 3))).toEqual({ ok: true, result: { stored: 0, duplicates: 3 } });
    expect(await sendLines(app, lines(2, 4))).toEqual({ ok: true, result: { stored: 1, duplicates: 2 } });
    const first = await page(app.appId, '?limit=2');
    expect(first.lines.map((l) => l.text)).toEqual(['line 1', 'line 2']);
    expect(first.lines[0]).toMatchObject({ stream: 'stdout', truncated: false, deploymentId: app.deploymentId, ts: lines(1, 1)[0].ts });
    const second = await page(app.appId, `?limit=2&after=${first.next}`);
    expect(second.lines.map((l) => l.text)).toEqual(['line 3', 'line 4']);
    expect((await page(app.appId, `?after=${second.next}`)).lines).toEqual([]);
  });

  it('filters by stream and text, and answers 404 for an unknown app and 400 for a bad cursor', async () => {
    await sendLines(app, [{ seq: 10, ts: new Date().toISOString(), stream: 'stderr', text: 'Boom: 100% failed_', truncated: true }]);
    expect((await page(app.appId, '?stream=stderr')).lines.map((l) => l.text)).toEqual(['Boom: 100% failed_']);
    expect((await page(app.appId, '?q=boom')).lines).toHaveLength(1);
    expect((await page(app.appId, '?q=0%25%20f')).lines).toHaveLength(1);
    expect((await page(app.appId, '?q=xyz')).lines).toHaveLength(0);
    expect((await cp.api('/api/apps/00000000-0000-4000-8000-000000000000/logs')).status).toBe(404);
    expect((await cp.api(`/api/apps/${app.appId}/logs?after=abc`)).status).toBe(400);
  });

  it('refuses a socket with a bad token or an unknown app with a connect_error that says why', async () => {
    const badToken = (await connectClient(cp.url, `/api/apps/${app.appId}/ws/logs`, { token: 'nope' }).catch((e: unknown) => e)) as Error & { data?: { statusCode: number } };
    expect(badToken.message).toMatch(/the API token is not valid/);
    expect(badToken.data?.statusCode).toBe(401);
    const noApp = (await connectClient(cp.url, '/api/apps/00000000-0000-4000-8000-000000000000/ws/logs').catch((e: unknown) => e)) as Error & { data?: { statusCode: number } };
    expect(noApp.message).toMatch(/app 00000000-0000-4000-8000-000000000000 does not exist/);
    expect(noApp.data?.statusCode).toBe(404);
    const badCursor = (await connectClient(cp.url, `/api/apps/${app.appId}/ws/logs`, { token: 'bat_test_admin_token_0123456789', after: 'x' }).catch((e: unknown) => e)) as Error;
    expect(badCursor.message).toMatch(/auth\.after must be a cursor/);
  });

  it('a client that reads 1,000 lines, drops while lines keep coming, and reconnects with its cursor gets every later line once, in order', async () => {
    const fresh = await runApp(cp, 'logs-reconnect', cp.url, { agent: app.agent, workerId: app.workerId });
    let seq = 0;
    const push = async (n: number) => {
      const from = seq + 1;
      seq += n;
      expect(await sendLines(fresh, lines(from, seq))).toMatchObject({ ok: true });
    };
    await push(600);
    let seen!: ReturnType<typeof collect<ApiLine>>;
    const first = await connectClient(cp.url, `/api/apps/${fresh.appId}/ws/logs`, undefined, (s) => (seen = collect(s, 'lines')));
    sockets.push(first);
    await push(400);
    await seen.until((items) => items.length >= 1_000);
    first.close();
    const cursor = seen.items[seen.items.length - 1].id;
    // Lines keep arriving while the client is away, and while it reconnects.
    await push(100);
    const writer = (async () => {
      for (let i = 0; i < 20; i++) await push(50);
    })();
    let later!: ReturnType<typeof collect<ApiLine>>;
    sockets.push(await connectClient(cp.url, `/api/apps/${fresh.appId}/ws/logs`, { token: 'bat_test_admin_token_0123456789', after: cursor }, (s) => (later = collect(s, 'lines'))));
    await writer;
    await later.until((items) => items.length >= seq - 1_000);
    const texts = [...seen.items, ...later.items].map((l) => l.text);
    expect(texts).toEqual(lines(1, seq).map((l) => l.text));
    const ids = [...seen.items, ...later.items].map((l) => BigInt(l.id));
    expect(ids.every((id, i) => i === 0 || id > ids[i - 1])).toBe(true);
  });

  it('tail: N sends the last N lines, then live', async () => {
    let got!: ReturnType<typeof collect<ApiLine>>;
    sockets.push(await connectClient(cp.url, `/api/apps/${app.appId}/ws/logs`, { token: 'bat_test_admin_token_0123456789', tail: 2 }, (s) => (got = collect(s, 'lines'))));
    await got.until((items) => items.length >= 2);
    await sendLines(app, lines(20, 20));
    await got.until((items) => items.length >= 3);
    expect(got.items.map((l) => l.text)).toEqual(['line 4', 'Boom: 100% failed_', 'line 20']);
  });
});
