import type { DeploymentView, WorkerView } from '@berth/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlPlane, type RunningControlPlane } from './support/control-plane';
import { createTestDatabase, type TestDatabase } from './support/database';
import { SchedulerService } from '../apps/control-plane/src/modules/scheduler/scheduler.service';
import { connectAgent, countEvents, eventually, HELLO, nextJob, registerWorker, send, type AgentClient } from './workers-agent-client';

/** Two control-plane replicas on one database: one scheduler at a time, jobs pushed by whichever holds the agent. */
describe('scheduler and agent gateway across two replicas (real PostgreSQL)', () => {
  let db: TestDatabase;
  let a: RunningControlPlane;
  let b: RunningControlPlane;
  const open: AgentClient[] = [];

  const agent = async (cp: RunningControlPlane, token: string) => {
    const socket = await connectAgent(cp.url, token);
    open.push(socket);
    return socket;
  };
  const deploy = async (cp: RunningControlPlane, name: string) => {
    const app = await cp.api('/api/apps', { method: 'POST', json: { name, source: { type: 'image', image: 'berth/hello:1' }, port: 8080, memoryMb: 64 } });
    expect(app.status).toBe(201);
    const res = await cp.api(`/api/apps/${((await app.json()) as { id: string }).id}/deployments`, { method: 'POST', json: {} });
    expect(res.status).toBe(202);
    return (await res.json()) as DeploymentView;
  };
  const worker = async (cp: RunningControlPlane, id: string) => (await (await cp.api(`/api/workers/${id}`)).json()) as WorkerView;

  beforeAll(async () => {
    db = await createTestDatabase();
    a = await startControlPlane(db.url);
    b = await startControlPlane(db.url);
  });
  afterAll(async () => {
    for (const s of open) s.close();
    for (const cp of [a, b]) await cp?.close().catch(() => undefined);
    await db?.drop();
  });

  it('assigns each deployment once and pushes the job from the replica the agent is connected to', async () => {
    const w = await registerWorker(a, 'rep-1');
    const socket = await agent(b, w.token);
    expect(await send(socket, 'hello', HELLO)).toMatchObject({ ok: true });
    const pushed = nextJob(socket);
    const d = await deploy(a, 'rep-app-1');
    expect((await pushed).deploymentId).toBe(d.id);
    expect(await countEvents(db.url, 'JobAssigned')).toBe(1);
  });

  it('a late offline from the replica an agent left does not leave the worker offline', async () => {
    const w = await registerWorker(a, 'rep-move');
    const onA = await agent(a, w.token);
    await send(onA, 'hello', HELLO);
    // The agent is already on replica B when replica A notices its old connection dropped.
    const onB = await agent(b, w.token);
    await send(onB, 'hello', HELLO);
    const onlineBefore = await countEvents(db.url, 'WorkerCameOnline');
    const offlineBefore = await countEvents(db.url, 'WorkerWentOffline');
    onA.close();
    await eventually(() => countEvents(db.url, 'WorkerWentOffline'), (n) => n === offlineBefore + 1);
    // Replica B, still holding the agent, brings it back online.
    await eventually(() => countEvents(db.url, 'WorkerCameOnline'), (n) => n === onlineBefore + 1);
    expect((await eventually(() => worker(a, w.id), (v) => v.status === 'online')).status).toBe('online');
  });

  it('runs the scheduler on one replica, and the other takes it over when the leader stops', async () => {
    const leaders = [a, b].filter((cp) => cp.app.get(SchedulerService).leader);
    expect(leaders).toHaveLength(1);
    const [leader, follower] = leaders[0] === a ? [a, b] : [b, a];
    const w = await registerWorker(follower, 'rep-2');
    const socket = await agent(follower, w.token);
    await send(socket, 'hello', { ...HELLO, capacity: { memoryMb: 4096, cpus: 2 } });
    await leader.close();
    const pushed = nextJob(socket);
    const d = await deploy(follower, 'rep-app-2');
    expect((await pushed).deploymentId).toBe(d.id);
    expect(follower.app.get(SchedulerService).leader).toBe(true);
  });
});
