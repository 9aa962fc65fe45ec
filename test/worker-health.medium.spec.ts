import type { DeploymentView, JobSpec, WorkerView } from '@berth/contracts';
import { FakeClock } from '@berth/core';
import { Client } from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SchedulerRegistry } from '@nestjs/schedule';
import { PeriodicJobs } from '../apps/control-plane/src/common/periodic-jobs';
import { StuckJobRecovery } from '../apps/control-plane/src/modules/deploy/stuck-job-recovery';
import { startControlPlane, type RunningControlPlane } from './support/control-plane';
import { createTestDatabase, type TestDatabase } from './support/database';
import { connectAgent, countEvents, disconnected, eventually, HELLO, nextJob, registerWorker, send, type AgentClient } from './workers-agent-client';

const MINUTE = 60_000;

/**
 * Worker health against real PostgreSQL with socket.io clients playing the agent: recoverStuckJobs as a
 * function of `now` (the fake-clock seam), late results, unique worker names, drain, and bad input.
 */
describe('worker health (real PostgreSQL, socket.io-client agents)', () => {
  let db: TestDatabase;
  let cp: RunningControlPlane;
  const open: AgentClient[] = [];
  let n = 0;

  const connect = async (token: string) => {
    const socket = await connectAgent(cp.url, token);
    open.push(socket);
    return socket;
  };
  const onlineWorker = async (name: string) => {
    const w = await registerWorker(cp, name);
    const socket = await connect(w.token);
    expect(await send(socket, 'hello', HELLO)).toMatchObject({ ok: true });
    return { ...w, socket };
  };
  const worker = async (id: string) => (await (await cp.api(`/api/workers/${id}`)).json()) as WorkerView;
  const deployment = async (id: string) => (await (await cp.api(`/api/deployments/${id}`)).json()) as DeploymentView;
  const app = async (id: string) => (await (await cp.api(`/api/apps/${id}`)).json()) as { status: string };
  /** Creates an image app and requests a deployment; resolves with the job pushed to `socket`. */
  const deploy = async (socket: AgentClient, name: string): Promise<JobSpec> => {
    const created = await cp.api('/api/apps', { method: 'POST', json: { name, source: { type: 'image', image: 'berth/hello:1' }, port: 8080, memoryMb: 64 } });
    expect(created.status).toBe(201);
    const pushed = nextJob(socket);
    const res = await cp.api(`/api/apps/${((await created.json()) as { id: string }).id}/deployments`, { method: 'POST', json: {} });
    expect(res.status).toBe(202);
    return pushed;
  };
  const runApp = async (socket: AgentClient, name: string) => {
    const job = await deploy(socket, name);
    expect(await send(socket, 'job:succeeded', { jobId: job.jobId, containerId: `c-${job.jobId}`, hostPort: 30000 + ++n })).toEqual({ ok: true });
    expect((await app(job.appId)).status).toBe('running');
    return job;
  };
  const events = async (type: string, filter: (data: Record<string, unknown>) => boolean = () => true) => {
    const c = new Client({ connectionString: db.url });
    await c.connect();
    try {
      const { rows } = await c.query<{ data: Record<string, unknown>; stream_id: string }>('SELECT data, stream_id FROM events WHERE type = $1 ORDER BY global_position', [type]);
      return rows.filter((r) => filter(r.data));
    } finally {
      await c.end();
    }
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    cp = await startControlPlane(db.url);
  });
  afterEach(async () => {
    // Each test places its jobs on its own workers: the others go offline first.
    const closed = open.splice(0);
    for (const s of closed) s.close();
    await eventually(async () => ((await (await cp.api('/api/workers')).json()) as WorkerView[]).filter((w) => w.status === 'online'), (ws) => ws.length === 0);
  });
  afterAll(async () => {
    await cp?.close();
    await db?.drop();
  });

  describe('recoverStuckJobs', () => {
    it('fails an assigned job only after the timeout, records the late result once, and never runs it again', async () => {
      const w = await onlineWorker('stuck-1');
      const job = await deploy(w.socket, 'stuck-app');
      await eventually(() => deployment(job.deploymentId), (d) => d.status === 'assigned');
      const recovery = cp.app.get(StuckJobRecovery);

      expect(await recovery.recoverStuckJobs(new Date(Date.now() + 15 * MINUTE - 1000))).toEqual([]);
      expect((await deployment(job.deploymentId)).status).toBe('assigned');

      expect(await recovery.recoverStuckJobs(new Date(Date.now() + 15 * MINUTE + 1000))).toEqual([job.deploymentId]);
      expect(await deployment(job.deploymentId)).toMatchObject({ status: 'failed', reason: 'timeout' });
      expect(await events('JobFailed', (d) => d.deploymentId === job.deploymentId)).toHaveLength(1);
      // A second sweep finds nothing more to fail.
      expect(await recovery.recoverStuckJobs(new Date(Date.now() + 16 * MINUTE))).toEqual([]);

      const assigned = await countEvents(db.url, 'JobAssigned');
      const result = { jobId: job.jobId, containerId: 'c-late', hostPort: 30999 };
      expect(await send(w.socket, 'job:succeeded', result)).toEqual({ ok: true });
      expect(await events('JobResultArrivedLate', (d) => d.deploymentId === job.deploymentId)).toEqual([
        expect.objectContaining({ data: expect.objectContaining({ result: 'succeeded', containerId: 'c-late', workerId: w.id }) }),
      ]);
      expect(await send(w.socket, 'job:succeeded', result)).toEqual({ ok: true });
      expect(await events('JobResultArrivedLate', (d) => d.deploymentId === job.deploymentId)).toHaveLength(1);
      expect(await deployment(job.deploymentId)).toMatchObject({ status: 'failed', reason: 'timeout' });

      // The agent comes back: it is sent no job for the failed deployment. A second app's job, pushed
      // after the hello, shows the scheduler has looked since.
      w.socket.close();
      await eventually(() => worker(w.id), (v) => v.status === 'offline');
      const again = await connect(w.token);
      const jobs: JobSpec[] = [];
      again.on('job', (j, ack) => {
        jobs.push(j);
        ack({ accepted: true });
      });
      expect(await send(again, 'hello', HELLO)).toMatchObject({ ok: true });
      const created = await cp.api('/api/apps', { method: 'POST', json: { name: 'stuck-app-2', source: { type: 'image', image: 'berth/hello:1' }, port: 8080, memoryMb: 64 } });
      const other = await cp.api(`/api/apps/${((await created.json()) as { id: string }).id}/deployments`, { method: 'POST', json: {} });
      const otherId = ((await other.json()) as { id: string }).id;
      await eventually(async () => jobs, (js) => js.some((j) => j.deploymentId === otherId));
      expect(jobs.map((j) => j.deploymentId)).toEqual([otherId]);
      expect(await countEvents(db.url, 'JobAssigned')).toBe(assigned + 1);
      expect(await events('JobAssigned', (d) => d.deploymentId === job.deploymentId)).toHaveLength(1);
      expect(await events('DeploymentRequested', (d) => d.deploymentId === job.deploymentId)).toHaveLength(1);
      expect(await deployment(job.deploymentId)).toMatchObject({ status: 'failed', reason: 'timeout' });
    });
  });

  describe('PeriodicJobs with a fake clock', () => {
    it('runs a job at start and once per interval with the clock\'s time, never twice at once, and stops on shutdown', async () => {
      const clock = new FakeClock('2030-01-01T00:00:00.000Z');
      const jobs = new PeriodicJobs(new SchedulerRegistry(), undefined as never, clock, { runBackgroundWork: true });
      const seen: string[] = [];
      let release: (() => void) | undefined;
      jobs.every('fake', MINUTE, async (now) => {
        seen.push(now.toISOString());
        if (seen.length === 2) await new Promise<void>((r) => (release = r));
      }, { runAtStart: true });
      await new Promise((r) => setImmediate(r)); // the run at start finishes
      await clock.tick(MINUTE); // the second run starts and hangs
      await clock.tick(MINUTE); // its interval comes while it runs: skipped
      expect(seen).toEqual(['2030-01-01T00:00:00.000Z', '2030-01-01T00:01:00.000Z']);
      release!();
      await new Promise((r) => setImmediate(r));
      await clock.tick(MINUTE);
      expect(seen).toEqual(['2030-01-01T00:00:00.000Z', '2030-01-01T00:01:00.000Z', '2030-01-01T00:03:00.000Z']);
      await jobs.onApplicationShutdown();
      await clock.tick(5 * MINUTE);
      expect(seen).toHaveLength(3);
      expect(clock.pending).toBe(0);
    });
  });

  describe('worker names', () => {
    it('lets exactly one of two concurrent registrations of a name win, and frees the name on drain', async () => {
      const both = await Promise.all([1, 2].map(() => cp.api('/api/workers', { method: 'POST', json: { name: 'same-name' } })));
      expect(both.map((r) => r.status).sort()).toEqual([201, 409]);
      const winner = (await both.find((r) => r.status === 201)!.json()) as { id: string };
      expect(await events('WorkerRegistered', (d) => d.name === 'same-name')).toHaveLength(1);

      expect((await cp.api(`/api/workers/${winner.id}`, { method: 'DELETE' })).status).toBeLessThan(300);
      const again = await cp.api('/api/workers', { method: 'POST', json: { name: 'same-name' } });
      expect(again.status).toBe(201);
    });
  });

  describe('drain', () => {
    it('refuses while an app runs there, naming it; ?force=true stops the apps and revokes the token', async () => {
      const w = await onlineWorker('drain-1');
      const job = await runApp(w.socket, 'drained-app');

      const before = await countEvents(db.url);
      const refused = await cp.api(`/api/workers/${w.id}`, { method: 'DELETE' });
      expect(refused.status).toBe(409);
      expect(((await refused.json()) as { message: string }).message).toContain('drained-app');
      expect(await countEvents(db.url)).toBe(before);

      const maybe = await cp.api(`/api/workers/${w.id}?force=maybe`, { method: 'DELETE' });
      expect(maybe.status).toBe(400);
      expect(await countEvents(db.url)).toBe(before);

      const closed = disconnected(w.socket);
      const forced = await cp.api(`/api/workers/${w.id}?force=true`, { method: 'DELETE' });
      expect(forced.status).toBeLessThan(300);
      expect(await app(job.appId)).toMatchObject({ status: 'stopped' });
      expect(await events('AppStopped', (d) => d.appId === job.appId)).toEqual([expect.objectContaining({ data: expect.objectContaining({ reason: 'worker_removed', workerId: w.id }) })]);
      expect(await events('WorkerRemoved', (d) => d.workerId === w.id)).toHaveLength(1);
      await closed; // the live connection of the removed worker is closed

      const err = (await connectAgent(cp.url, w.token).catch((e: unknown) => e)) as Error;
      expect(err).toBeInstanceOf(Error);
      expect(err.message).toMatch(/the worker token is not valid/);
      expect((await cp.api(`/api/workers/${w.id}`)).status).toBe(404);
      expect(((await (await cp.api('/api/workers')).json()) as WorkerView[]).map((x) => x.id)).not.toContain(w.id);
    });

    it('drains a worker with no running apps without force', async () => {
      const w = await registerWorker(cp, 'drain-empty');
      expect((await cp.api(`/api/workers/${w.id}`, { method: 'DELETE' })).status).toBeLessThan(300);
      expect((await cp.api(`/api/workers/${w.id}`)).status).toBe(404);
      expect((await cp.api(`/api/workers/${w.id}`, { method: 'DELETE' })).status).toBe(404);
    });
  });

  describe('bad input', () => {
    it.each([
      ['a capacity that is not an object', 'lots'],
      ['a negative memory', { memoryMb: -1, cpus: 2 }],
      ['a memory that is not a number', { memoryMb: 'much', cpus: 2 }],
      ['no cpus', { memoryMb: 1024 }],
    ])('refuses a heartbeat with %s, changing nothing', async (_, capacity) => {
      const w = await onlineWorker(`badbeat-${++n}`);
      const good = { at: new Date().toISOString(), capacity: HELLO.capacity, runningContainers: 0 };
      expect(await send(w.socket, 'heartbeat', good)).toEqual({ ok: true });
      const seen = await worker(w.id);
      const before = await countEvents(db.url);
      const ack = await send(w.socket, 'heartbeat', { ...good, capacity });
      expect(ack).toMatchObject({ ok: false, error: { statusCode: 400 } });
      expect(await worker(w.id)).toEqual(seen);
      expect(await countEvents(db.url)).toBe(before);
    });

    it("refuses a result for another worker's job, changing nothing", async () => {
      const a = await onlineWorker(`owner-${++n}`);
      const job = await deploy(a.socket, `owned-${n}`);
      const b = await onlineWorker(`thief-${n}`);
      const before = await countEvents(db.url);
      for (const [event, payload] of [
        ['job:succeeded', { jobId: job.jobId, containerId: 'c-x', hostPort: 31000 }],
        ['job:failed', { jobId: job.jobId, reason: 'not mine', logTail: [] }],
        ['job:started', { jobId: job.jobId, phase: 'building' }],
      ] as const) {
        const ack = await send(b.socket, event, payload);
        expect(ack.ok, event).toBe(false);
        if (!ack.ok) expect(ack.error.statusCode).toBeGreaterThanOrEqual(400);
      }
      expect(await countEvents(db.url)).toBe(before);
      expect((await deployment(job.deploymentId)).status).toBe('assigned');
    });
  });

  it('GET /api/workers shows status, last heartbeat, capacity, allocated memory and the apps placed there', async () => {
    const w = await onlineWorker('shown-1');
    expect(await send(w.socket, 'heartbeat', { at: new Date().toISOString(), capacity: HELLO.capacity, runningContainers: 1 })).toEqual({ ok: true });
    const job = await runApp(w.socket, 'shown-app');
    const listed = ((await (await cp.api('/api/workers')).json()) as WorkerView[]).find((x) => x.id === w.id)!;
    expect(listed).toMatchObject({
      status: 'online',
      capacity: HELLO.capacity,
      allocatedMemoryMb: 64,
      apps: [{ appId: job.appId, name: 'shown-app', deploymentId: job.deploymentId, state: 'running' }],
    });
    expect(Date.parse(listed.lastHeartbeatAt!)).not.toBeNaN();
    expect(await worker(w.id)).toEqual(listed);
  });
});
