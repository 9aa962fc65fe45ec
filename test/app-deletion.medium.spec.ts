/**
 * Deleting an app cleans up after it: its unfinished deployments end `failed`, and agents are told to
 * remove its containers (`app:remove`) — at once when connected, after their next hello otherwise.
 */
import { APP_DELETED_REASON, type AdoptedContainer, type AppRemoveMsg, type DeploymentView, type WorkerView } from '@berth/contracts';
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EventStore } from '@berth/event-store';
import { Reactions } from '../apps/control-plane/src/common/reactions.service';
import { AppDeletedReaction } from '../apps/control-plane/src/modules/deploy/app-deleted.reaction';
import { startControlPlane, type RunningControlPlane } from './support/control-plane';
import { createTestDatabase, type TestDatabase } from './support/database';
import { connectAgent, countEvents, eventually, HELLO, nextJob, registerWorker, send, WAIT_MS, type AgentClient } from './workers-agent-client';

interface EventRow {
  type: string;
  event_id: string;
  actor: string;
  correlation_id: string;
  causation_id: string | null;
}

/** Every `app:remove` an agent socket receives, acknowledged as a real agent would. */
function recordRemovals(socket: AgentClient) {
  const seen: AppRemoveMsg[] = [];
  let waiters: ((m: AppRemoveMsg) => void)[] = [];
  socket.on('app:remove', (msg, ack) => {
    seen.push(msg);
    ack({ removed: 0 });
    waiters.splice(0).forEach((w) => w(msg));
  });
  return {
    seen,
    /** The first `app:remove` received from now on. */
    next(): Promise<AppRemoveMsg> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no app:remove within ${WAIT_MS} ms`)), WAIT_MS);
        waiters.push((m) => {
          clearTimeout(timer);
          resolve(m);
        });
      });
    },
    stop: () => (waiters = []),
  };
}

const container = (appId: string): AdoptedContainer => ({ appId, deploymentId: randomUUID(), containerId: `c-${randomUUID()}`, hostPort: 30_000, running: true });

describe('deleting an app (real PostgreSQL, socket.io-client agents)', () => {
  let db: TestDatabase;
  let cp: RunningControlPlane;
  let pg: Client;
  const open: AgentClient[] = [];

  const json = async <T>(path: string) => (await (await cp.api(path)).json()) as T;
  const createApp = async (name: string, extra: object = {}) => {
    const res = await cp.api('/api/apps', { method: 'POST', json: { name, source: { type: 'image', image: 'berth/hello:1' }, port: 8080, memoryMb: 128, ...extra } });
    expect(res.status).toBe(201);
    return ((await res.json()) as { id: string }).id;
  };
  const requestDeployment = async (appId: string) => {
    const res = await cp.api(`/api/apps/${appId}/deployments`, { method: 'POST', json: {} });
    expect(res.status).toBe(202);
    return ((await res.json()) as DeploymentView).id;
  };
  const deleteApp = async (appId: string) => expect((await cp.api(`/api/apps/${appId}`, { method: 'DELETE' })).status).toBe(204);
  const endsFailed = (id: string) => eventually(() => json<DeploymentView>(`/api/deployments/${id}`), (d) => d.status === 'failed');
  const agent = async (name: string, hello = HELLO) => {
    const w = await registerWorker(cp, name);
    const socket = await connectAgent(cp.url, w.token);
    open.push(socket);
    const removals = recordRemovals(socket);
    return { id: w.id, socket, removals, hello: () => send(socket, 'hello', hello) };
  };
  const streamEvents = async (streamId: string) =>
    (
      await pg.query<EventRow>(
        `SELECT type, metadata->>'eventId' AS event_id, metadata->>'actor' AS actor, metadata->>'correlationId' AS correlation_id,
                metadata->>'causationId' AS causation_id FROM events WHERE stream_id = $1 ORDER BY version`,
        [streamId],
      )
    ).rows;

  beforeAll(async () => {
    db = await createTestDatabase();
    cp = await startControlPlane(db.url);
    pg = new Client({ connectionString: db.url });
    await pg.connect();
  });
  afterEach(() => open.splice(0).forEach((s) => s.close()));
  afterAll(async () => {
    await pg?.end();
    await cp?.close();
    await db?.drop();
  });

  it('ends its queued and building deployments as failed, and tells every connected agent to remove it', async () => {
    const busy = await agent('del-busy', { ...HELLO, capacity: { memoryMb: 200, cpus: 1 } });
    const idle = await agent('del-idle', { ...HELLO, capacity: { memoryMb: 64, cpus: 1 } });
    expect(await busy.hello()).toMatchObject({ ok: true });
    expect(await idle.hello()).toMatchObject({ ok: true });
    const appId = await createApp('doomed');

    const pushed = nextJob(busy.socket);
    const building = await requestDeployment(appId);
    const job = await pushed;
    expect(job.deploymentId).toBe(building);
    expect(await send(busy.socket, 'job:started', { jobId: job.jobId, phase: 'building' })).toEqual({ ok: true });
    // No worker has 128 MB left for a second one: it waits, queued.
    const queued = await requestDeployment(appId);
    expect((await json<DeploymentView>(`/api/deployments/${queued}`)).status).toBe('queued');

    const told = [busy.removals.next(), idle.removals.next()];
    await deleteApp(appId);
    expect(await Promise.all(told)).toEqual([{ appId }, { appId }]);
    for (const id of [building, queued]) expect(await endsFailed(id)).toMatchObject({ status: 'failed', reason: APP_DELETED_REASON });
    expect((await json<DeploymentView>(`/api/deployments/${building}`)).finishedAt).toBeDefined();
    expect((await json<WorkerView>(`/api/workers/${busy.id}`)).allocatedMemoryMb).toBe(0);
    expect((await cp.api(`/api/apps/${appId}`)).status).toBe(404);

    // Each ending continues its deployment's correlated chain.
    for (const id of [building, queued]) {
      const chain = await streamEvents(`deployment-${id}`);
      const last = chain.at(-1)!;
      expect(last).toMatchObject({ type: 'JobFailed', actor: 'system:app-deleted', correlation_id: chain[0].correlation_id });
      expect(last.causation_id).toBe(chain.at(-2)!.event_id);
    }

    // Ending them again is harmless: nothing left to end, nothing appended.
    const before = await countEvents(db.url);
    const appDeleted = (await cp.app.get(EventStore).readStream(`app-${appId}`)).find((e) => e.type === 'AppDeleted')!;
    expect(await cp.app.get(AppDeletedReaction).handle(appDeleted)).toBe(0);
    // The agent's own answer for the job (it skips jobs of a removed app) agrees; a contradicting one is refused.
    expect(await send(busy.socket, 'job:failed', { jobId: job.jobId, reason: APP_DELETED_REASON, logTail: [] })).toEqual({ ok: true });
    const late = await send(busy.socket, 'job:succeeded', { jobId: job.jobId, containerId: 'c1', hostPort: 30_001 });
    expect(late).toMatchObject({ ok: false, error: { statusCode: 409 } });
    expect(await countEvents(db.url)).toBe(before);
    expect((await json<DeploymentView>(`/api/deployments/${building}`)).status).toBe('failed');
  });

  it('tells an agent that was away, after its hello, to remove the deleted apps it still has containers of', async () => {
    // A connected agent hears of the deletion first: once it has, the broadcast for it is over.
    const witness = await agent('del-witness');
    expect(await witness.hello()).toMatchObject({ ok: true });
    const gone = await createApp('gone');
    const heard = witness.removals.next();
    await deleteApp(gone);
    expect(await heard).toEqual({ appId: gone });

    const live = await createApp('live');
    // Checked in the order listed, so an app:remove for any entry before `gone` would arrive first.
    const containers = [container(live), container(randomUUID()), container('not-a-uuid'), container(gone), container(gone)];
    const away = await agent('del-away', { ...HELLO, containers });
    const told = away.removals.next();
    expect(await away.hello()).toMatchObject({ ok: true });
    expect(await told).toEqual({ appId: gone });
    expect((await cp.api(`/api/apps/${live}`)).status).toBe(200);
  });

  it('a control plane that starts after an app was deleted unseen ends the app\'s deployments', async () => {
    // As if no control plane was running when the app was deleted.
    await cp.app.get(Reactions).onApplicationShutdown();
    const appId = await createApp('missed', { zone: 'nowhere' });
    const queued = await requestDeployment(appId);
    await deleteApp(appId);
    expect((await json<DeploymentView>(`/api/deployments/${queued}`)).status).toBe('queued');

    await cp.close();
    cp = await startControlPlane(db.url);
    expect(await endsFailed(queued)).toMatchObject({ status: 'failed', reason: APP_DELETED_REASON });
    const chain = await streamEvents(`deployment-${queued}`);
    expect(chain.filter((e) => e.type === 'JobFailed')).toHaveLength(1);
  });
});
