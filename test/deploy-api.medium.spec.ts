import { APP_DELETED_REASON } from '@berth/contracts';
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DomainError, ErrorCode } from '../apps/control-plane/src/common/errors';
import { Projections } from '../apps/control-plane/src/database/projections.service';
import { BUILD_LOG_LINE_MAX_BYTES, BuildLogs } from '../apps/control-plane/src/modules/deploy/build-logs';
import { DeployService } from '../apps/control-plane/src/modules/deploy/deploy.service';
import { JobResults } from '../apps/control-plane/src/modules/deploy/job-results';
import { createTestDatabase, type TestDatabase } from './support/database';
import { startControlPlane, type RunningControlPlane } from './support/control-plane';

interface EventView {
  type: string;
  streamId: string;
  metadata: { correlationId?: string; causationId?: string; eventId?: string; actor?: string };
}

/** Response bodies in these tests are checked by value, so they are read untyped. */
const jsonOf = (res: Response): Promise<any> => res.json();

describe('deploy API and DeployService', () => {
  let db: TestDatabase;
  let cp: RunningControlPlane;
  let pg: Client;
  let deploy: DeployService;
  let results: JobResults;
  let buildLogs: BuildLogs;

  const eventCount = async () => Number((await pg.query<{ n: string }>('SELECT count(*) AS n FROM events')).rows[0].n);
  const json = async (path: string) => jsonOf(await cp.api(path));
  const createApp = async (name: string, source: object = { type: 'git', repoUrl: 'https://codeberg.org/acme/web.git', branch: 'main' }) => {
    const res = await cp.api('/api/apps', { method: 'POST', json: { name, source, port: 8080, memoryMb: 128 } });
    expect(res.status).toBe(201);
    return (await jsonOf(res)) as { id: string };
  };
  const requestDeployment = async (appId: string, body?: object, headers: Record<string, string> = {}) => {
    const res = await cp.api(`/api/apps/${appId}/deployments`, { method: 'POST', json: body, headers });
    expect(res.status).toBe(202);
    return (await jsonOf(res)) as { id: string; status: string; createdAt: string };
  };
  /** A DomainError the service threw, after checking nothing was appended meanwhile. */
  async function refusedByService(call: () => Promise<unknown>): Promise<DomainError> {
    const before = await eventCount();
    const err = await call().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DomainError);
    expect(await eventCount()).toBe(before);
    return err as DomainError;
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    cp = await startControlPlane(db.url);
    pg = new Client({ connectionString: db.url });
    await pg.connect();
    deploy = cp.app.get(DeployService);
    results = cp.app.get(JobResults);
    buildLogs = cp.app.get(BuildLogs);
  });
  afterAll(async () => {
    await pg?.end();
    await cp?.close();
    await db?.drop();
  });

  it('drives a git deployment from queued to succeeded, as a worker would', async () => {
    const app = await createApp('web');
    const correlationId = `corr-${randomUUID()}`;
    const queued = await requestDeployment(app.id, { commit: 'ABCDEF1' }, { 'x-request-id': correlationId });
    expect(queued).toEqual({ id: expect.any(String), appId: app.id, status: 'queued', commit: 'abcdef1', createdAt: expect.any(String), updatedAt: expect.any(String) });
    expect((await json(`/api/apps/${app.id}`)).status).toBe('deploying');
    expect(await deploy.listQueued()).toContainEqual({ deploymentId: queued.id, appId: app.id, memoryMb: 128, createdAt: queued.createdAt });

    // (The real scheduler runs too, and records its own waiting reasons: count only ours.)
    const reason = `test reason ${randomUUID()}`;
    await deploy.markWaiting(queued.id, reason);
    await deploy.markWaiting(queued.id, reason);
    const waits = await pg.query(`SELECT 1 FROM events WHERE stream_id = $1 AND type = 'DeploymentWaiting' AND data->>'reason' = $2`, [
      `deployment-${queued.id}`,
      reason,
    ]);
    expect(waits.rowCount).toBe(1);
    expect((await json(`/api/deployments/${queued.id}`)).status).toBe('queued');

    const workerId = randomUUID();
    const jobId = randomUUID();
    await deploy.assign(queued.id, { jobId, workerId, memoryMb: 128 });
    expect(await json(`/api/deployments/${queued.id}`)).toMatchObject({ status: 'assigned', workerId, jobId });
    expect((await json(`/api/deployments/${queued.id}`)).reason).toBeUndefined();
    expect(await deploy.listQueued()).not.toContainEqual(expect.objectContaining({ deploymentId: queued.id }));
    const [spec] = await deploy.jobsForWorker(workerId);
    expect(spec).toEqual({ jobId, deploymentId: queued.id, appId: app.id, commit: 'abcdef1', app: expect.objectContaining({ name: 'web', port: 8080 }) });

    // A worker that does not hold the job is refused, and nothing is appended.
    const foreign = randomUUID();
    const err = await refusedByService(() => results.recordJobStarted(foreign, { jobId, phase: 'building' }));
    expect(err.code).toBe(ErrorCode.NotFound);
    expect(err.message).toBe(`job ${jobId} is not assigned to this worker`);
    await refusedByService(() => results.recordJobSucceeded(workerId, { jobId: randomUUID(), containerId: 'c', hostPort: 1 }));
    await refusedByService(() => buildLogs.recordBuildLog(foreign, { jobId, lines: [{ seq: 1, line: 'x', at: new Date().toISOString() }] }));

    await results.recordJobStarted(workerId, { jobId, phase: 'building' });
    expect((await json(`/api/deployments/${queued.id}`)).status).toBe('building');

    const at = new Date().toISOString();
    const long = 'é'.repeat(BUILD_LOG_LINE_MAX_BYTES);
    await buildLogs.recordBuildLog(workerId, { jobId, lines: [0, 1, 2].map((seq) => ({ seq, line: `step ${seq}\u0000`, at })) });
    await buildLogs.recordBuildLog(workerId, { jobId, lines: [{ seq: 2, line: 'resent', at }, { seq: 3, line: long, at }] });
    const logs = await json(`/api/deployments/${queued.id}/logs`);
    expect(logs.lines.map((l: { seq: number }) => l.seq)).toEqual([0, 1, 2, 3]);
    expect(logs.lines[2]).toEqual({ seq: 2, line: 'step 2', at });
    expect(Buffer.byteLength(logs.lines[3].line)).toBeLessThanOrEqual(BUILD_LOG_LINE_MAX_BYTES);
    expect(logs.lines[3].line).toBe('é'.repeat(BUILD_LOG_LINE_MAX_BYTES / 2));
    expect(logs.next).toBe(3);
    const page = await json(`/api/deployments/${queued.id}/logs?after=1&limit=1`);
    expect(page).toEqual({ lines: [{ seq: 2, line: 'step 2', at }], next: 2 });

    await results.recordImageBuilt(workerId, { jobId, image: `berth/web:${queued.id}` });
    // Progress reports are acknowledged before the read model catches up (the agent reads nothing back).
    await vi.waitFor(async () => expect((await json(`/api/deployments/${queued.id}`)).status).toBe('starting'), { timeout: 5000, interval: 20 });
    await results.recordContainerStarted(workerId, { jobId, containerId: 'ctr-1', hostPort: 32768 });
    await results.recordJobSucceeded(workerId, { jobId, containerId: 'ctr-1', hostPort: 32768 });

    const done = await json(`/api/deployments/${queued.id}`);
    expect(done).toEqual({
      id: queued.id,
      appId: app.id,
      status: 'succeeded',
      commit: 'abcdef1',
      jobId,
      workerId,
      address: '127.0.0.1:32768',
      createdAt: queued.createdAt,
      updatedAt: expect.any(String),
      finishedAt: expect.any(String),
    });
    expect(await json(`/api/apps/${app.id}`)).toMatchObject({ status: 'running', endpoints: [{ workerId, address: '127.0.0.1:32768' }] });
    expect(await deploy.jobsForWorker(workerId)).toEqual([]);

    // The agent resends after a reconnect: the identical result appends nothing; a contradicting one is refused.
    const before = await eventCount();
    await results.recordJobSucceeded(workerId, { jobId, containerId: 'ctr-1', hostPort: 32768 });
    await results.recordJobStarted(workerId, { jobId, phase: 'building' });
    expect(await eventCount()).toBe(before);
    const contradiction = await refusedByService(() => results.recordJobFailed(workerId, { jobId, reason: 'late', logTail: [] }));
    expect(contradiction.code).toBe(ErrorCode.InvalidState);

    // The audit trail ties the whole deployment to the request that started it.
    const { events } = (await json('/api/events?limit=1000')) as { events: EventView[] };
    const chain = events.filter((e) => e.streamId === `deployment-${queued.id}`);
    expect(chain.map((e) => e.type).filter((t) => t !== 'DeploymentWaiting')).toEqual([
      'DeploymentRequested',
      'JobAssigned',
      'JobStarted',
      'ImageBuilt',
      'ContainerStarted',
      'JobSucceeded',
    ]);
    expect(chain.every((e) => e.metadata.correlationId === correlationId)).toBe(true);
    expect(chain[0].metadata.actor).toBe('token:admin');
    chain.slice(1).forEach((e, i) => expect(e.metadata.causationId).toBe(chain[i].metadata.eventId));
    expect(chain.slice(1).every((e) => e.metadata.eventId !== undefined)).toBe(true);
  });

  it('keeps a running app running when a later deployment fails, and shows why it failed', async () => {
    const app = await createApp('steady', { type: 'image', image: 'nginx:1.27' });
    const workerId = randomUUID();
    const first = await requestDeployment(app.id);
    const job1 = randomUUID();
    await deploy.assign(first.id, { jobId: job1, workerId, memoryMb: 128 });
    await results.recordJobStarted(workerId, { jobId: job1, phase: 'starting' });
    expect((await json(`/api/deployments/${first.id}`)).status).toBe('starting');
    await results.recordJobSucceeded(workerId, { jobId: job1, containerId: 'ctr-a', hostPort: 40001 });

    const second = await requestDeployment(app.id);
    expect((await json(`/api/apps/${app.id}`)).status).toBe('running');
    const job2 = randomUUID();
    await deploy.assign(second.id, { jobId: job2, workerId, memoryMb: 128 });
    await results.recordJobStarted(workerId, { jobId: job2, phase: 'starting' });
    await results.recordJobFailed(workerId, { jobId: job2, reason: 'health check failed: GET / answered 500', logTail: ['listening', 'boom'] });
    await results.recordJobFailed(workerId, { jobId: job2, reason: 'health check failed: GET / answered 500', logTail: ['listening', 'boom'] });

    expect(await json(`/api/deployments/${second.id}`)).toMatchObject({
      status: 'failed',
      reason: 'health check failed: GET / answered 500',
      logTail: ['listening', 'boom'],
      finishedAt: expect.any(String),
    });
    expect(await json(`/api/apps/${app.id}`)).toMatchObject({ status: 'running', endpoints: [{ workerId, address: '127.0.0.1:40001' }] });
    const list = (await json(`/api/apps/${app.id}/deployments`)) as { id: string }[];
    expect(list.map((d) => d.id)).toEqual([second.id, first.id]);
  });

  it('marks an app failed when its only deployment fails', async () => {
    const app = await createApp('broken');
    const d = await requestDeployment(app.id);
    const workerId = randomUUID();
    const jobId = randomUUID();
    await deploy.assign(d.id, { jobId, workerId, memoryMb: 128 });
    await results.recordJobFailed(workerId, { jobId, reason: 'git clone failed', logTail: [] });
    expect(await json(`/api/apps/${app.id}`)).toMatchObject({ status: 'failed', endpoints: [] });
    expect((await json(`/api/deployments/${d.id}`)).logTail).toBeUndefined();
  });

  it("uses the worker's advertised address for endpoints", async () => {
    const workerId = randomUUID();
    await pg.query(
      `INSERT INTO workers (id, name, status, token_hash, advertise_ip, version, created_at, updated_at)
       VALUES ($1, 'w1', 'online', $2, '10.0.0.7', 1, now(), now())`,
      [workerId, `hash-${workerId}`],
    );
    const app = await createApp('remote', { type: 'image', image: 'nginx' });
    const d = await requestDeployment(app.id);
    const jobId = randomUUID();
    await deploy.assign(d.id, { jobId, workerId, memoryMb: 128 });
    await results.recordJobStarted(workerId, { jobId, phase: 'starting' });
    await results.recordJobSucceeded(workerId, { jobId, containerId: 'ctr', hostPort: 32000 });
    expect((await json(`/api/deployments/${d.id}`)).address).toBe('10.0.0.7:32000');
    expect((await json(`/api/apps/${app.id}`)).endpoints).toEqual([{ workerId, address: '10.0.0.7:32000' }]);
  });

  it('refuses bad deployment requests with 4xx and nothing appended', async () => {
    const app = await createApp('picky');
    const cases: [string, RequestInit & { json?: unknown }, number][] = [
      [`/api/apps/${app.id}/deployments`, { method: 'POST', json: { commit: 'main' } }, 400],
      [`/api/apps/${app.id}/deployments`, { method: 'POST', json: { commit: 'abc' } }, 400],
      [`/api/apps/${app.id}/deployments`, { method: 'POST', json: { branch: 'dev' } }, 400],
      [`/api/apps/${randomUUID()}/deployments`, { method: 'POST' }, 404],
      ['/api/apps/nope/deployments', { method: 'POST' }, 404],
      [`/api/apps/${randomUUID()}/deployments`, {}, 404],
      [`/api/deployments/${randomUUID()}`, {}, 404],
      ['/api/deployments/nope/logs', {}, 404],
      [`/api/deployments/${randomUUID()}/logs?after=x`, {}, 400],
    ];
    for (const [path, init, status] of cases) {
      const before = await eventCount();
      const res = await cp.api(path, init);
      expect(res.status, path).toBe(status);
      expect(await jsonOf(res)).toEqual({ statusCode: status, error: expect.any(String), message: expect.any(String) });
      expect(await eventCount()).toBe(before);
    }
    expect((await cp.api(`/api/apps/${app.id}/deployments`, { method: 'POST', token: null })).status).toBe(401);

    const orphan = await requestDeployment(app.id);
    await cp.api(`/api/apps/${app.id}`, { method: 'DELETE' });
    expect(await deploy.listQueued()).not.toContainEqual(expect.objectContaining({ deploymentId: orphan.id }));
    // Deleting the app ends its queued deployment (in the background, after the DELETE answered).
    await vi.waitFor(async () => expect(await json(`/api/deployments/${orphan.id}`)).toMatchObject({ status: 'failed', reason: APP_DELETED_REASON }), {
      timeout: 5000,
      interval: 20,
    });
    const before = await eventCount();
    expect((await cp.api(`/api/apps/${app.id}/deployments`, { method: 'POST' })).status).toBe(404);
    expect((await cp.api(`/api/apps/${app.id}/deployments`)).status).toBe(404);
    expect(await eventCount()).toBe(before);
  });

  it('rebuilds the apps and deployments read models to the same state, keeping build output', async () => {
    const snapshot = async () => ({
      apps: (await pg.query('SELECT * FROM apps ORDER BY id')).rows,
      deployments: (await pg.query('SELECT * FROM deployments ORDER BY id')).rows,
      logs: (await pg.query('SELECT count(*)::int AS n FROM deployment_logs')).rows[0].n as number,
    });
    const live = await snapshot();
    expect(live.deployments.length).toBeGreaterThan(0);
    expect(live.logs).toBeGreaterThan(0);
    await cp.app.get(Projections).rebuild();
    expect(await snapshot()).toEqual(live);
  });

  it('lists its routes in the OpenAPI document', async () => {
    const doc = await jsonOf(await cp.api('/api/docs-json', { token: null }));
    expect(Object.keys(doc.paths['/api/apps/{id}/deployments'])).toEqual(expect.arrayContaining(['get', 'post']));
    expect(doc.paths['/api/apps/{id}/deployments'].post.responses['202']).toBeDefined();
    expect(doc.paths['/api/deployments/{id}'].get).toBeDefined();
    expect(doc.paths['/api/deployments/{id}/logs'].get).toBeDefined();
  });
});
