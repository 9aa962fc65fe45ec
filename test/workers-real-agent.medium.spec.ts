import type { DeploymentView, JobSpec, WorkerView } from '@berth/contracts';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentConnection } from '../apps/worker-agent/src/connection/agent-connection';
import { startControlPlane, type RunningControlPlane } from './support/control-plane';
import { createTestDatabase, type TestDatabase } from './support/database';
import { eventually, HELLO, registerWorker, WAIT_MS } from './workers-agent-client';

/** The agent's own connection code against the real gateway: the two halves of the protocol agree. */
describe('the worker agent connection against the /agent gateway (real PostgreSQL)', () => {
  let db: TestDatabase;
  let cp: RunningControlPlane;
  let connection: AgentConnection | undefined;

  beforeAll(async () => {
    db = await createTestDatabase();
    cp = await startControlPlane(db.url);
  });
  afterAll(async () => {
    connection?.close();
    await cp?.close();
    await db?.drop();
  });

  it('says hello, receives its job, and reports results that move the deployment', async () => {
    const w = await registerWorker(cp, 'real-agent');
    let helloReply: { workerId: string; name: string } | undefined;
    let onJob: (job: JobSpec) => void = () => undefined;
    const job = new Promise<JobSpec>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no job within ${WAIT_MS} ms`)), WAIT_MS);
      onJob = (j) => {
        clearTimeout(timer);
        resolve(j);
      };
    });
    connection = new AgentConnection({
      url: cp.url,
      token: w.token,
      logger: pino({ level: 'silent' }),
      hello: async () => HELLO,
      onHello: (reply) => (helloReply = reply),
      onJob: (j) => {
        onJob(j);
        return { accepted: true };
      },
      onAppRemove: async () => ({ removed: 0 }),
      heartbeat: async () => ({ at: new Date().toISOString(), capacity: HELLO.capacity, runningContainers: 0 }),
    });
    connection.start();

    const online = await eventually(
      async () => (await (await cp.api(`/api/workers/${w.id}`)).json()) as WorkerView,
      (v) => v.status === 'online' && v.lastHeartbeatAt !== undefined,
    );
    expect(online.capacity).toEqual(HELLO.capacity);
    expect(helloReply).toEqual({ workerId: w.id, name: 'real-agent' });

    const app = await cp.api('/api/apps', { method: 'POST', json: { name: 'via-agent', source: { type: 'image', image: 'berth/hello:1' }, port: 8080 } });
    const appId = ((await app.json()) as { id: string }).id;
    const requested = (await (await cp.api(`/api/apps/${appId}/deployments`, { method: 'POST', json: {} })).json()) as DeploymentView;
    const pushed = await job;
    expect(pushed).toMatchObject({ deploymentId: requested.id, appId });

    connection.report('job:started', { jobId: pushed.jobId, phase: 'starting' });
    connection.report('job:container-started', { jobId: pushed.jobId, containerId: 'c-1', hostPort: 31001 });
    connection.report('job:succeeded', { jobId: pushed.jobId, containerId: 'c-1', hostPort: 31001 });
    expect(await connection.flush(WAIT_MS)).toBe(true);
    const done = (await (await cp.api(`/api/deployments/${requested.id}`)).json()) as DeploymentView;
    expect(done).toMatchObject({ status: 'succeeded', workerId: w.id, jobId: pushed.jobId });
  });
});
