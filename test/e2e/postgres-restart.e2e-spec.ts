/**
 * PostgreSQL stops for longer than the grace period while an agent heartbeats and a deploy runs, then
 * starts again: the control plane recovers on its own (no restart), deploys work, and the live worker is
 * never marked offline because heartbeats could not be recorded meanwhile. The test runs its own cluster.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBerth, type Berth } from '../support/berth';
import { ensureBusyboxImage, removeAppImages, requireDockerOrSkip } from '../support/docker';
import { readEvents } from '../support/fault-tools';
import { createAppRepo, type AppRepo } from '../support/git-fixture';
import { startPgCluster, type PgCluster } from '../support/pg-cluster';
import { buildDist, eventually } from '../support/processes';

const hasDocker = requireDockerOrSkip();
const GRACE_MS = 7_000;

describe.skipIf(!hasDocker)('PostgreSQL restarts under a running control plane', { timeout: 150_000 }, () => {
  let pg: PgCluster;
  let berth: Berth;
  let repo: AppRepo;
  const appIds: string[] = [];

  const createApp = async (name: string) => {
    const created = await berth.api('/api/apps', { json: { name, source: { type: 'git', repoUrl: repo.url, branch: 'main' }, port: 8080, memoryMb: 64 } });
    expect(created.status).toBe(201);
    appIds.push(created.body.id);
    return created.body.id as string;
  };

  beforeAll(async () => {
    buildDist();
    await ensureBusyboxImage();
    pg = await startPgCluster();
    berth = await startBerth({
      database: await pg.createDatabase('berth_pg_restart'),
      controlPlaneEnv: { BERTH_WORKER_GRACE_MS: String(GRACE_MS) },
      agentEnv: { BERTH_HEALTH_CHECK_DEADLINE_MS: '6000' },
    });
    repo = await createAppRepo({ message: 'survives a database restart', behaviour: 'slow-build' });
  }, 120_000);

  afterAll(async () => {
    await berth?.close().catch(() => undefined);
    for (const id of appIds) await removeAppImages(id).catch(() => undefined);
    await repo?.remove();
    pg?.destroy();
  });

  it('recovers without a restart, deploys again, and marks no live worker offline', async () => {
    const first = await createApp('pg-first');
    const inFlight = await berth.api(`/api/apps/${first}/deployments`, { method: 'POST' });
    expect(inFlight.status).toBe(202);
    await eventually('the build to start', async () => ((await berth.api(`/api/deployments/${inFlight.body.id}`)).body?.status === 'building' ? true : undefined), 60_000, 100);
    const cpPid = berth.cp.child.pid;

    pg.stop();
    const down = await berth.api('/api/workers').catch(() => ({ status: 0 }));
    expect(down.status).not.toBe(200);
    // Longer than the grace period: every heartbeat the agent sends meanwhile goes unrecorded.
    await new Promise((r) => setTimeout(r, GRACE_MS + 3_000));
    pg.start();
    const backAt = Date.now();

    await eventually('the API to answer again', async () => ((await berth.api('/api/workers')).status === 200 ? true : undefined), 60_000, 250);
    expect(berth.cp.child.pid).toBe(cpPid);
    expect(berth.cp.child.exitCode).toBeNull();

    const ended = await berth.waitDeployment(inFlight.body.id, 90_000);
    expect(['succeeded', 'failed']).toContain(ended.status);

    const second = await createApp('pg-second');
    const after = await berth.api(`/api/apps/${second}/deployments`, { method: 'POST' });
    expect(after.status).toBe(202);
    const done = await berth.waitDeployment(after.body.id, 90_000);
    expect(done.status, done.reason).toBe('succeeded');

    // More than a grace period (and a few sweeps) after PostgreSQL came back: a detector that judged the
    // unrecorded heartbeats would have struck by now. Proving an absence needs this bounded wait.
    await new Promise((r) => setTimeout(r, Math.max(0, backAt + GRACE_MS + 3_000 - Date.now())));
    expect((await berth.api(`/api/workers/${berth.workerId}`)).body.status).toBe('online');
    expect(await readEvents(berth.databaseUrl, ['WorkerWentOffline'])).toEqual([]);
    expect(berth.cp.child.exitCode).toBeNull();
  });
});
