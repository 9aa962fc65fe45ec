import type { WorkerView } from '@berth/contracts';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Projections } from '../apps/control-plane/src/database/projections.service';
import { startControlPlane, type RunningControlPlane } from './support/control-plane';
import { createTestDatabase, type TestDatabase } from './support/database';
import { connectAgent, countEvents, disconnected, eventually, HELLO, registerWorker, send, type AgentClient } from './workers-agent-client';

const JOB = '0b0b0b0b-1111-4222-8333-444455556666';

describe('/agent gateway (real PostgreSQL, socket.io-client)', () => {
  let db: TestDatabase;
  let cp: RunningControlPlane;
  const open: { socket: AgentClient; workerId: string }[] = [];
  let names = 0;

  /** Connects as the worker; afterEach closes the socket and waits for its offline event to land. */
  const connect = async (w: { id: string; token: string }) => {
    const socket = await connectAgent(cp.url, w.token);
    open.push({ socket, workerId: w.id });
    return socket;
  };
  const worker = async (id: string) => (await (await cp.api(`/api/workers/${id}`)).json()) as WorkerView;
  const eventsOf = async (workerId: string, type: string) => {
    const page = (await (await cp.api('/api/events?limit=1000')).json()) as { events: { type: string; streamId: string; data: { reason?: string } }[] };
    return page.events.filter((e) => e.type === type && e.streamId === `worker-${workerId}`);
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    cp = await startControlPlane(db.url);
  });
  afterEach(async () => {
    const closed = open.splice(0);
    for (const { socket } of closed) socket.close();
    for (const workerId of new Set(closed.map((c) => c.workerId))) await eventually(() => worker(workerId), (w) => w.status !== 'online');
  });
  afterAll(async () => {
    await cp?.close();
    await db?.drop();
  });

  it.each([
    ['an unknown token', 'bwt_not_a_real_token', /the worker token is not valid/],
    ['no token', undefined, /missing worker token/],
    ['an admin token (not a worker token)', 'bat_test_admin_token_0123456789', /the worker token is not valid/],
  ])('refuses a connection with %s and appends nothing', async (_, token, message) => {
    const before = await countEvents(db.url);
    const err = (await connectAgent(cp.url, token).catch((e: unknown) => e)) as Error & { data?: unknown };
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toMatch(message);
    expect(err.data).toMatchObject({ statusCode: 401, error: 'Unauthorized' });
    expect(await countEvents(db.url)).toBe(before);
  });

  it('hello brings the worker online with its capacity; a repeated hello appends nothing', async () => {
    const w = await registerWorker(cp, 'hello-1', 'de');
    const { id } = w;
    const agent = await connect(w);
    expect(await send(agent, 'hello', HELLO)).toEqual({ ok: true, result: { workerId: id, name: 'hello-1' } });
    const view = await worker(id);
    expect(view).toMatchObject({ status: 'online', capacity: { memoryMb: 1024, cpus: 2 }, advertiseIp: '127.0.0.1', allocatedMemoryMb: 0 });
    expect(Date.parse(view.lastHeartbeatAt!)).not.toBeNaN();

    const online = await countEvents(db.url, 'WorkerCameOnline');
    expect(await send(agent, 'hello', HELLO)).toMatchObject({ ok: true });
    expect(await countEvents(db.url, 'WorkerCameOnline')).toBe(online);
    expect(await send(agent, 'hello', { ...HELLO, capacity: { memoryMb: 2048, cpus: 2 } })).toMatchObject({ ok: true });
    expect(await countEvents(db.url, 'WorkerCameOnline')).toBe(online + 1);
    expect((await worker(id)).capacity).toEqual({ memoryMb: 2048, cpus: 2 });
  });

  it('heartbeats record when the control plane last heard from the worker, without events', async () => {
    const w = await registerWorker(cp, 'beat-1');
    const { id } = w;
    const agent = await connect(w);
    expect((await worker(id)).lastHeartbeatAt).toBeUndefined();
    const before = await countEvents(db.url);
    const heartbeat = { at: new Date().toISOString(), capacity: { memoryMb: 512, cpus: 1 }, runningContainers: 0 };
    expect(await send(agent, 'heartbeat', heartbeat)).toEqual({ ok: true });
    const first = (await worker(id)).lastHeartbeatAt!;
    expect(Date.parse(first)).not.toBeNaN();
    expect(await send(agent, 'heartbeat', heartbeat)).toEqual({ ok: true });
    expect(Date.parse((await worker(id)).lastHeartbeatAt!)).toBeGreaterThanOrEqual(Date.parse(first));
    expect(await countEvents(db.url)).toBe(before);
    expect((await worker(id)).status).toBe('registered');
  });

  it('adds the log lines an agent reports dropped to /metrics, by worker and app, once per acknowledged heartbeat', async () => {
    const w = await registerWorker(cp, 'drops-1');
    const agent = await connect(w);
    const [appA, appB] = ['a0a0a0a0-1111-4222-8333-444455556666', 'b0b0b0b0-1111-4222-8333-444455556666'];
    const dropped = async (appId: string) => {
      const text = await (await fetch(`${cp.url}/metrics`)).text();
      const m = new RegExp(`^berth_log_lines_dropped_total\\{worker_id="${w.id}",app_id="${appId}"\\} (\\d+)$`, 'm').exec(text);
      return m ? Number(m[1]) : undefined;
    };
    const beat = (droppedLogLines?: unknown) => ({ at: new Date().toISOString(), capacity: HELLO.capacity, runningContainers: 1, droppedLogLines });
    expect(await send(agent, 'heartbeat', beat([{ appId: appA, lines: 40 }, { appId: appB, lines: 2 }]))).toEqual({ ok: true });
    expect(await send(agent, 'heartbeat', beat([{ appId: appA, lines: 2 }]))).toEqual({ ok: true });
    expect(await send(agent, 'heartbeat', beat())).toEqual({ ok: true });
    // Refused whole: nothing of it is counted (the agent reports it again).
    expect(await send(agent, 'heartbeat', beat([{ appId: appA, lines: 5 }, { appId: appB, lines: 0 }]))).toMatchObject({ ok: false, error: { statusCode: 400 } });
    expect({ a: await dropped(appA), b: await dropped(appB) }).toEqual({ a: 42, b: 2 });
  });

  it.each([
    ['hello', 'not an object', /hello message must be an object/],
    ['hello', { ...HELLO, capacity: undefined }, /capacity must be an object/],
    ['hello', { ...HELLO, capacity: { memoryMb: '1024', cpus: 2 } }, /capacity.memoryMb must be a whole number/],
    ['hello', { ...HELLO, advertiseIp: 'not-an-ip' }, /advertiseIp must be an IPv4 or IPv6 address/],
    ['hello', { ...HELLO, containers: [{ appId: 'x' }] }, /containers\[0\].deploymentId must be a string/],
    ['heartbeat', { at: 'yesterday', capacity: HELLO.capacity, runningContainers: 0 }, /at must be an ISO 8601 date-time/],
    ['heartbeat', null, /heartbeat message must be an object/],
    ['heartbeat', { at: new Date().toISOString(), capacity: HELLO.capacity, runningContainers: 0, droppedLogLines: [{ appId: 'x', lines: 3 }] }, /droppedLogLines\[0\].appId must be a UUID/],
    ['heartbeat', { at: new Date().toISOString(), capacity: HELLO.capacity, runningContainers: 0, droppedLogLines: { lines: 3 } }, /droppedLogLines must be an array/],
    ['job:started', { jobId: JOB, phase: 'dancing' }, /phase must be one of building, starting/],
    ['job:log', { jobId: JOB, lines: 'hello' }, /lines must be an array/],
    ['job:image-built', { jobId: 'nope', image: 'x' }, /jobId must be a UUID/],
    ['job:container-started', { jobId: JOB, containerId: 'c', hostPort: 70000 }, /hostPort must be a whole number from 1 to 65535/],
    ['job:succeeded', { jobId: JOB, containerId: '', hostPort: 8080 }, /containerId must not be empty/],
    ['job:failed', { jobId: JOB, reason: 'boom', logTail: [1, 2] }, /logTail\[0\] must be a string/],
  ] as const)('refuses a bad %s payload with a 400 ack (%j) and appends nothing', async (event, payload, message) => {
    const agent = await connect(await registerWorker(cp, `bad-${++names}`));
    const before = await countEvents(db.url);
    const ack = await send(agent, event, payload);
    expect(ack).toMatchObject({ ok: false, error: { statusCode: 400, error: 'Bad Request' } });
    expect(ack.ok === false && ack.error.message).toMatch(message);
    expect(await countEvents(db.url)).toBe(before);
    expect(agent.connected).toBe(true);
  });

  it.each([
    ['job:started', { jobId: JOB, phase: 'building' }],
    ['job:log', { jobId: JOB, lines: [{ seq: 0, line: 'x', at: new Date().toISOString() }] }],
    ['job:image-built', { jobId: JOB, image: 'berth/app:1' }],
    ['job:container-started', { jobId: JOB, containerId: 'c1', hostPort: 30001 }],
    ['job:succeeded', { jobId: JOB, containerId: 'c1', hostPort: 30001 }],
    ['job:failed', { jobId: JOB, reason: 'boom', logTail: [] }],
  ] as const)('answers %s for a job the worker does not hold with a 4xx ack, appending nothing', async (event, payload) => {
    const agent = await connect(await registerWorker(cp, `nojob-${++names}`));
    expect(await send(agent, 'hello', HELLO)).toMatchObject({ ok: true });
    const before = await countEvents(db.url);
    const ack = await send(agent, event, payload);
    expect(ack.ok).toBe(false);
    if (ack.ok) return;
    expect(ack.error.statusCode).toBeGreaterThanOrEqual(400);
    expect(ack.error.statusCode).toBeLessThan(500);
    expect(ack.error.message).toContain(JOB);
    expect(await countEvents(db.url)).toBe(before);
  });

  it('marks the worker offline when its agent disconnects', async () => {
    const w = await registerWorker(cp, 'leaver');
    const { id } = w;
    const agent = await connect(w);
    await send(agent, 'hello', HELLO);
    expect((await worker(id)).status).toBe('online');
    agent.close();
    expect((await eventually(() => worker(id), (v) => v.status === 'offline')).status).toBe('offline');
    const offline = await eventsOf(id, 'WorkerWentOffline');
    expect(offline).toHaveLength(1);
    expect(offline[0].data.reason).toMatch(/the agent disconnected/);
  });

  it('a second connection of the same worker replaces the first, and the worker stays online', async () => {
    const w = await registerWorker(cp, 'twice');
    const first = await connect(w);
    await send(first, 'hello', HELLO);
    const dropped = disconnected(first);
    const second = await connect(w);
    expect(await dropped).toBe('io server disconnect');
    expect(await send(second, 'hello', HELLO)).toMatchObject({ ok: true });
    expect((await worker(w.id)).status).toBe('online');
    expect(await eventsOf(w.id, 'WorkerWentOffline')).toEqual([]);
    expect(await eventsOf(w.id, 'WorkerCameOnline')).toHaveLength(1);
  });

  it('comes back online after a reconnect', async () => {
    const w = await registerWorker(cp, 'returner');
    const { id } = w;
    const a = await connect(w);
    await send(a, 'hello', HELLO);
    a.close();
    await eventually(() => worker(id), (v) => v.status === 'offline');
    const b = await connect(w);
    expect(await send(b, 'hello', HELLO)).toMatchObject({ ok: true, result: { workerId: id } });
    expect((await worker(id)).status).toBe('online');
  });

  it('rebuilding the workers read model from the events gives the same workers', async () => {
    const live = await (await cp.api('/api/workers')).json();
    expect((live as WorkerView[]).length).toBeGreaterThan(10);
    await cp.app.get(Projections).rebuild();
    expect(await (await cp.api('/api/workers')).json()).toEqual(live);
  });
});
