import type { DeploymentView, WorkerView } from '@berth/contracts';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startControlPlane, type RunningControlPlane } from './support/control-plane';
import { createTestDatabase, type TestDatabase } from './support/database';
import { connectAgent, countEvents, eventually, HELLO, nextJob, registerWorker, send, type AgentClient } from './workers-agent-client';

describe('scheduler: queued deployments meet workers (real PostgreSQL, socket.io-client agents)', () => {
  let db: TestDatabase;
  let cp: RunningControlPlane;
  const open: AgentClient[] = [];

  const agent = async (token: string) => {
    const socket = await connectAgent(cp.url, token);
    open.push(socket);
    return socket;
  };
  const createApp = async (name: string, extra: Record<string, unknown> = {}) => {
    const res = await cp.api('/api/apps', { method: 'POST', json: { name, source: { type: 'image', image: 'berth/hello:1' }, port: 8080, ...extra } });
    expect(res.status).toBe(201);
    return ((await res.json()) as { id: string }).id;
  };
  const deploy = async (appId: string) => {
    const res = await cp.api(`/api/apps/${appId}/deployments`, { method: 'POST', json: {} });
    expect(res.status).toBe(202);
    return (await res.json()) as DeploymentView;
  };
  const deployment = async (id: string) => (await (await cp.api(`/api/deployments/${id}`)).json()) as DeploymentView;
  const worker = async (id: string) => (await (await cp.api(`/api/workers/${id}`)).json()) as WorkerView;

  beforeAll(async () => {
    db = await createTestDatabase();
    cp = await startControlPlane(db.url);
  });
  afterEach(() => {
    for (const s of open.splice(0)) s.close();
  });
  afterAll(async () => {
    await cp?.close();
    await db?.drop();
  });

  it('keeps a deployment queued with its reason while no worker is online, and pushes it to the first worker that comes online', async () => {
    const appId = await createApp('first-app', { memoryMb: 512 });
    const queued = await deploy(appId);
    expect(queued.status).toBe('queued');
    const waiting = await eventually(() => deployment(queued.id), (d) => d.reason !== undefined);
    expect(waiting).toMatchObject({ status: 'queued', reason: 'no online worker' });

    const w = await registerWorker(cp, 'sched-1');
    const socket = await agent(w.token);
    const pushed = nextJob(socket);
    expect(await send(socket, 'hello', HELLO)).toMatchObject({ ok: true });
    const job = await pushed;
    expect(job).toMatchObject({ deploymentId: queued.id, appId, app: { name: 'first-app', memoryMb: 512, source: { type: 'image', image: 'berth/hello:1' } } });
    expect(job.jobId).toMatch(/^[0-9a-f-]{36}$/);

    // The job is pushed straight from the event; the read model follows.
    const assigned = await eventually(() => deployment(queued.id), (x) => x.status === 'assigned');
    expect(assigned).toMatchObject({ status: 'assigned', workerId: w.id, jobId: job.jobId });
    expect(assigned.reason).toBeUndefined();
    expect((await worker(w.id)).allocatedMemoryMb).toBe(512);

    // The job is sent again after a reconnect (the agent drops the duplicate by jobId).
    socket.close();
    await eventually(() => worker(w.id), (v) => v.status === 'offline');
    const again = await agent(w.token);
    const resent = nextJob(again);
    await send(again, 'hello', HELLO);
    expect((await resent).jobId).toBe(job.jobId);

    // Its results are recorded for the holder, refused (4xx, nothing appended) for any other worker.
    const other = await registerWorker(cp, 'sched-other');
    const intruder = await agent(other.token);
    const before = await countEvents(db.url);
    const refused = await send(intruder, 'job:succeeded', { jobId: job.jobId, containerId: 'c1', hostPort: 30001 });
    expect(refused).toMatchObject({ ok: false, error: { statusCode: 404 } });
    expect(await countEvents(db.url)).toBe(before);
    expect(await send(again, 'job:started', { jobId: job.jobId, phase: 'starting' })).toEqual({ ok: true });
    expect(await send(again, 'job:started', { jobId: job.jobId, phase: 'starting' })).toEqual({ ok: true });
    expect((await deployment(queued.id)).status).toBe('starting');
  });

  it('tells why a deployment waits: a zone without workers, or not enough memory anywhere', async () => {
    const us = await registerWorker(cp, 'sched-us', 'us');
    const socket = await agent(us.token);
    await send(socket, 'hello', { ...HELLO, capacity: { memoryMb: 1024, cpus: 1 } });

    const inDe = await deploy(await createApp('zoned-app', { zone: 'de', memoryMb: 128 }));
    const huge = await deploy(await createApp('huge-app', { memoryMb: 4096 }));
    expect(await eventually(() => deployment(inDe.id), (d) => d.reason !== undefined)).toMatchObject({
      status: 'queued',
      reason: 'no online worker in zone de',
    });
    const hugeWaiting = await eventually(() => deployment(huge.id), (d) => d.reason !== undefined);
    expect(hugeWaiting.status).toBe('queued');
    expect(hugeWaiting.reason).toMatch(/^no online worker has 4096 MB free \(largest free: \d+ MB on sched-(us|1)\)$/);
  });

  it('places an app with a zone only on a worker of that zone', async () => {
    const appId = await createApp('zoned-2', { zone: 'fr', memoryMb: 64 });
    const d = await deploy(appId);
    await eventually(() => deployment(d.id), (x) => x.reason === 'no online worker in zone fr');
    const fr = await registerWorker(cp, 'sched-fr', 'fr');
    const socket = await agent(fr.token);
    const pushed = nextJob(socket);
    await send(socket, 'hello', HELLO);
    expect((await pushed).deploymentId).toBe(d.id);
    expect(await eventually(() => deployment(d.id), (x) => x.status === 'assigned')).toMatchObject({ status: 'assigned', workerId: fr.id });
  });
});
