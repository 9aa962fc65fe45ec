/**
 * Worker health with real processes: an agent killed, frozen (SIGSTOP) and cut off from the control
 * plane by a relay the test controls. The worker goes offline within grace + one heartbeat, its app is
 * `stopped` (worker_offline) and comes back by adopting the same container; apps never stop serving
 * because the control plane is unreachable.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBerth, type Berth } from '../support/berth';
import { ensureBusyboxImage, removeAppImages, requireDockerOrSkip } from '../support/docker';
import { appContainers, lastPosition, readEvents, startRelay, type Relay } from '../support/fault-tools';
import { createAppRepo, type AppRepo } from '../support/git-fixture';
import { buildDist, eventually } from '../support/processes';

const hasDocker = requireDockerOrSkip();
import { HEARTBEAT_INTERVAL_MS as HEARTBEAT_MS } from '@berth/contracts';

/** Short, but longer than the agents' heartbeat interval (5 s), or every worker would go offline between two heartbeats. */
const GRACE_MS = 7_000;

describe.skipIf(!hasDocker)('worker health with real processes', { timeout: 120_000 }, () => {
  let berth: Berth;
  let relay: Relay;
  let repo: AppRepo;
  const appIds: string[] = [];
  let appId: string;
  let containerId: string;

  const workerStatus = async () => (await berth.api(`/api/workers/${berth.workerId}`)).body?.status as string;
  const waitWorker = (status: string, timeoutMs = 30_000) => eventually(`the worker to be ${status}`, async () => ((await workerStatus()) === status ? true : undefined), timeoutMs, 50);
  const appStatus = async (id: string) => (await berth.api(`/api/apps/${id}`)).body?.status as string;
  const waitApp = (id: string, status: string) => eventually(`app ${id} to be ${status}`, async () => ((await appStatus(id)) === status ? true : undefined), 30_000, 100);
  const createApp = async (name: string) => {
    const created = await berth.api('/api/apps', { json: { name, source: { type: 'git', repoUrl: repo.url, branch: 'main' }, port: 8080, memoryMb: 64 } });
    expect(created.status).toBe(201);
    appIds.push(created.body.id);
    return created.body.id as string;
  };
  const page = async (id: string) => {
    const view = (await berth.api(`/api/apps/${id}`)).body;
    return (await fetch(`http://${view.endpoints[0].address}/`, { signal: AbortSignal.timeout(2_000) })).text();
  };
  const signal = (sig: NodeJS.Signals) => process.kill(berth.agent.child.pid!, sig);

  beforeAll(async () => {
    buildDist();
    await ensureBusyboxImage();
    relay = await startRelay();
    berth = await startBerth({
      controlPlaneEnv: { BERTH_WORKER_GRACE_MS: String(GRACE_MS) },
      agentEnv: { BERTH_HEALTH_CHECK_DEADLINE_MS: '6000' },
      agentUrl: (base) => {
        relay.target.port = Number(new URL(base).port);
        return relay.url;
      },
    });
    repo = await createAppRepo({ message: 'worker health' });
    appId = await createApp('health-app');
    const d = await berth.api(`/api/apps/${appId}/deployments`, { method: 'POST' });
    const done = await berth.waitDeployment(d.body.id);
    expect(done.status, done.reason).toBe('succeeded');
    const containers = await appContainers(appId);
    expect(containers).toHaveLength(1);
    containerId = containers[0].id;
  }, 180_000);

  afterAll(async () => {
    if (berth?.agent.child.exitCode === null) process.kill(berth.agent.child.pid!, 'SIGCONT');
    await berth?.close();
    await relay?.close();
    for (const id of appIds) await removeAppImages(id).catch(() => undefined);
    await repo?.remove();
  });

  it('kill -9 an agent: offline within grace + one heartbeat, app stopped, assigned job stays assigned; back: the same container is adopted', async () => {
    const other = await createApp('health-other');
    const before = await lastPosition(berth.databaseUrl);

    // Frozen first, so a deployment is assigned to the worker that its agent will never start.
    signal('SIGSTOP');
    const stoppedAt = Date.now();
    const d = await berth.api(`/api/apps/${other}/deployments`, { method: 'POST' });
    await eventually('the deployment to be assigned', async () => ((await berth.api(`/api/deployments/${d.body.id}`)).body.status === 'assigned' ? true : undefined), 10_000, 50);
    signal('SIGKILL');
    await waitWorker('offline');
    const offlineAfterMs = Date.now() - stoppedAt;
    expect(offlineAfterMs).toBeLessThanOrEqual(GRACE_MS + HEARTBEAT_MS);

    await waitApp(appId, 'stopped');
    const stopped = await readEvents(berth.databaseUrl, ['AppStopped'], before);
    expect(stopped.map((e) => e.data)).toEqual([expect.objectContaining({ appId, workerId: berth.workerId, reason: 'worker_offline' })]);
    const offline = await readEvents(berth.databaseUrl, ['WorkerWentOffline'], before);
    expect(offline).toHaveLength(1);
    expect(await appContainers(appId)).toEqual([{ id: containerId, state: 'running' }]);
    expect((await berth.api(`/api/deployments/${d.body.id}`)).body.status).toBe('assigned');

    await berth.restartAgent('SIGKILL');
    await waitWorker('online');
    await waitApp(appId, 'running');
    expect(await readEvents(berth.databaseUrl, ['AppRestored'], before)).toEqual([expect.objectContaining({ data: expect.objectContaining({ appId, workerId: berth.workerId }) })]);
    expect(await appContainers(appId)).toEqual([{ id: containerId, state: 'running' }]);
    // The job the worker held is sent to it again and ends; nothing is stuck.
    const done = await berth.waitDeployment(d.body.id, 60_000);
    expect(done.status, done.reason).toBe('succeeded');
    expect(await appContainers(other)).toHaveLength(1);
    expect(await page(appId)).toContain('worker health');
  });

  it('SIGSTOP past the grace period, then SIGCONT: offline, online, the same container adopted, one story in the log', async () => {
    const before = await lastPosition(berth.databaseUrl);
    signal('SIGSTOP');
    const stoppedAt = Date.now();
    await waitWorker('offline');
    expect(Date.now() - stoppedAt).toBeLessThanOrEqual(GRACE_MS + HEARTBEAT_MS);
    await waitApp(appId, 'stopped');
    signal('SIGCONT');
    await waitWorker('online');
    await waitApp(appId, 'running');

    expect(await appContainers(appId)).toEqual([{ id: containerId, state: 'running' }]);
    expect(await page(appId)).toContain('worker health');
    const story = (await readEvents(berth.databaseUrl, ['WorkerWentOffline', 'AppStopped', 'WorkerCameOnline', 'AppRestored'], before)).filter(
      (e) => e.streamId === `worker-${berth.workerId}` || e.data.appId === appId,
    );
    expect(story.map((e) => e.type)).toEqual(['WorkerWentOffline', 'AppStopped', 'WorkerCameOnline', 'AppRestored']);
  });

  it('cut from the control plane, the app keeps answering on its port the whole time', async () => {
    const before = await lastPosition(berth.databaseUrl);
    let answered = 0;
    const failures: string[] = [];
    let polling = true;
    const view = (await berth.api(`/api/apps/${appId}`)).body;
    const address = view.endpoints[0].address as string;
    const poller = (async () => {
      while (polling) {
        try {
          const text = await (await fetch(`http://${address}/`, { signal: AbortSignal.timeout(2_000) })).text();
          if (text.includes('worker health')) answered++;
          else failures.push(`unexpected body: ${text.slice(0, 80)}`);
        } catch (err) {
          failures.push(String(err));
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    })();

    relay.cut();
    await waitWorker('offline');
    await waitApp(appId, 'stopped');
    // Well past the grace period with the control plane unreachable.
    await new Promise((r) => setTimeout(r, GRACE_MS));
    relay.restore();
    await waitWorker('online');
    await waitApp(appId, 'running');
    polling = false;
    await poller;

    expect(failures).toEqual([]);
    expect(answered).toBeGreaterThan(20);
    expect(await appContainers(appId)).toEqual([{ id: containerId, state: 'running' }]);
    expect((await readEvents(berth.databaseUrl, ['AppRestored'], before)).filter((e) => e.data.appId === appId)).toHaveLength(1);
  });
});
