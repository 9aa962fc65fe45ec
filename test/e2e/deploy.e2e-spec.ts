/**
 * The first real path through Berth: real PostgreSQL, the control plane and a worker agent as real
 * processes, a real Docker Engine building a git repository and running it.
 */
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBerth, type Berth } from '../support/berth';
import { docker, ensureBusyboxImage, removeAppImages, requireDockerOrSkip } from '../support/docker';
import { createAppRepo, pushCommit, type AppRepo } from '../support/git-fixture';
import { buildDist, eventually, startProcess } from '../support/processes';

const hasDocker = requireDockerOrSkip();

interface Deployment {
  id: string;
  status: string;
  reason?: string;
  commit?: string;
  logTail?: string[];
}

describe.skipIf(!hasDocker)('deploy a git repository end to end', { timeout: 180_000 }, () => {
  let berth: Berth;
  let repo: AppRepo;
  let appId: string;
  const unique = `berth-e2e-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
  const api = (path: string, init?: { method?: string; json?: unknown }) => berth.api(path, init);

  const page = async (address: string): Promise<string> => (await fetch(`http://${address}/`)).text();

  beforeAll(async () => {
    buildDist();
    await ensureBusyboxImage();
    berth = await startBerth({ agentEnv: { BERTH_HEALTH_CHECK_DEADLINE_MS: '6000' } });
    repo = await createAppRepo({ message: `${unique} version one` });
  }, 180_000);

  afterAll(async () => {
    await berth?.close();
    if (appId) await removeAppImages(appId).catch(() => undefined);
    await repo?.remove();
  });

  it('builds the repository, runs it and answers on the 127.0.0.1 endpoint', async () => {
    const created = await api('/api/apps', { json: { name: 'hello-e2e', source: { type: 'git', repoUrl: repo.url, branch: 'main' }, port: 8080, memoryMb: 64 } });
    expect(created.status).toBe(201);
    appId = created.body.id;

    const requested = await api(`/api/apps/${appId}/deployments`, { method: 'POST' });
    expect(requested.status).toBe(202);
    const done = (await berth.waitDeployment(requested.body.id)) as Deployment;
    expect(done.status, `deployment failed: ${done.reason}\n${berth.agent.log().slice(-3000)}`).toBe('succeeded');
    expect(done.commit).toBe(repo.head);

    const app = (await api(`/api/apps/${appId}`)).body;
    expect(app.status).toBe('running');
    expect(app.endpoints).toHaveLength(1);
    expect(app.endpoints[0].workerId).toBe(berth.workerId);
    expect(app.endpoints[0].address).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(await page(app.endpoints[0].address)).toContain(`${unique} version one`);

    const logs = await api(`/api/deployments/${requested.body.id}/logs`);
    expect(logs.status).toBe(200);
    expect(JSON.stringify(logs.body)).toMatch(/Step 1\/|FROM/);
  });

  it('redeploys a new commit with no downtime: the old container serves until the new one is healthy, then is gone', async () => {
    const before = (await api(`/api/apps/${appId}`)).body;
    const oldAddress: string = before.endpoints[0].address;
    const oldContainers = await docker.listContainers({ filters: { label: [`berth.app=${appId}`] } });
    expect(oldContainers).toHaveLength(1);

    const sha = await pushCommit(repo, `${unique} version two`);
    const requested = await api(`/api/apps/${appId}/deployments`, { method: 'POST' });
    expect(requested.status).toBe(202);

    // Hit the old endpoint continuously until the deployment finishes.
    let finished = false;
    const answers: string[] = [];
    const failures: string[] = [];
    const poller = (async () => {
      while (!finished) {
        try {
          answers.push(await page(oldAddress));
        } catch (err) {
          failures.push(String(err));
        }
      }
    })();
    const done = (await berth.waitDeployment(requested.body.id)) as Deployment;
    finished = true;
    await poller;
    expect(done.status, done.reason).toBe('succeeded');
    expect(done.commit).toBe(sha);
    expect(failures, 'the old version stopped answering before the new one was healthy').toEqual([]);
    expect(answers.length).toBeGreaterThan(0);
    expect(answers.every((a) => a.includes(`${unique} version one`))).toBe(true);

    const after = (await api(`/api/apps/${appId}`)).body;
    expect(after.endpoints[0].address).not.toBe(oldAddress);
    expect(await page(after.endpoints[0].address)).toContain(`${unique} version two`);
    await eventually('the old container to be removed', async () => {
      const left = await docker.listContainers({ all: true, filters: { id: [oldContainers[0].Id] } });
      return left.length === 0 ? true : undefined;
    }, 30_000);
    await expect(page(oldAddress)).rejects.toThrow();
  });

  it('a deploy that never becomes healthy fails with a reason and leaves the previous version serving', async () => {
    const serving = (await api(`/api/apps/${appId}`)).body.endpoints[0].address;
    await pushCommit(repo, `${unique} version three`, 'never-listens');
    const requested = await api(`/api/apps/${appId}/deployments`, { method: 'POST' });
    const done = (await berth.waitDeployment(requested.body.id)) as Deployment;
    expect(done.status).toBe('failed');
    expect(done.reason).toMatch(/health/i);
    expect(done.logTail?.join('\n')).toContain('will never listen');

    const app = (await api(`/api/apps/${appId}`)).body;
    expect(app.status).toBe('running');
    expect(app.endpoints[0].address).toBe(serving);
    expect(await page(serving)).toContain(`${unique} version two`);
    const running = await docker.listContainers({ filters: { label: [`berth.app=${appId}`] } });
    expect(running).toHaveLength(1);
  });

  it('GET /api/events shows each deployment as one correlated chain', async () => {
    const all: { type: string; streamId: string; metadata: Record<string, string>; position: string }[] = [];
    let after: string | undefined;
    for (;;) {
      const { status, body } = await api(`/api/events?limit=200${after ? `&after=${encodeURIComponent(after)}` : ''}`);
      expect(status).toBe(200);
      all.push(...body.events);
      if (body.events.length === 0) break;
      after = body.next;
    }
    const deployments = (await api(`/api/apps/${appId}/deployments`)).body as Deployment[];
    expect(deployments).toHaveLength(3);
    for (const d of deployments) {
      const chain = all.filter((e) => e.streamId === `deployment-${d.id}`);
      const types = chain.map((e) => e.type);
      expect(types.slice(0, 3)).toEqual(['DeploymentRequested', 'JobAssigned', 'JobStarted']);
      expect(types.at(-1)).toBe(d.status === 'succeeded' ? 'JobSucceeded' : 'JobFailed');
      const correlation = chain[0].metadata.correlationId;
      expect(correlation).toBeTruthy();
      expect(chain.every((e) => e.metadata.correlationId === correlation)).toBe(true);
      for (let i = 1; i < chain.length; i++) expect(chain[i].metadata.causationId).toBe(chain[i - 1].metadata.eventId);
    }
  });

  it('an agent restart adopts the running container instead of starting another', async () => {
    const serving = (await api(`/api/apps/${appId}`)).body.endpoints[0].address;
    const before = await docker.listContainers({ filters: { label: [`berth.app=${appId}`] } });
    await berth.restartAgent('SIGTERM', async () => {
      await eventually('the worker to be marked offline', async () => ((await api(`/api/workers/${berth.workerId}`)).body?.status === 'offline' ? true : undefined));
      expect(await page(serving)).toContain(`${unique} version two`);
    });
    await eventually('the worker to come back online', async () => ((await api(`/api/workers/${berth.workerId}`)).body?.status === 'online' ? true : undefined));
    const after = await docker.listContainers({ filters: { label: [`berth.app=${appId}`] } });
    expect(after.map((c) => c.Id)).toEqual(before.map((c) => c.Id));
    expect(await page(serving)).toContain(`${unique} version two`);
  });

  it('`npm run projections:rebuild` replays the log into read models equal to the live ones', async () => {
    const snapshot = async () => {
      const client = new Client({ connectionString: berth.databaseUrl });
      await client.connect();
      try {
        const out: Record<string, unknown[]> = {};
        for (const table of ['apps', 'deployments', 'workers', 'api_tokens']) {
          out[table] = (await client.query(`SELECT * FROM ${table} ORDER BY id`)).rows;
        }
        return out;
      } finally {
        await client.end();
      }
    };
    const live = await snapshot();
    expect(live.deployments).toHaveLength(3);
    const rebuild = startProcess('rebuild', 'dist/apps/control-plane/src/cli/rebuild-projections.js', {
      DATABASE_URL: berth.databaseUrl,
      BERTH_LOG_LEVEL: 'info',
    });
    const code = await new Promise<number | null>((resolve) => rebuild.child.once('exit', resolve));
    expect(code, rebuild.log()).toBe(0);
    expect(rebuild.log()).toContain('read models rebuilt');
    expect(await snapshot()).toEqual(live);
  });

  it('deleting the app removes its containers and images from the worker, and the app is gone', async () => {
    const serving = (await api(`/api/apps/${appId}`)).body.endpoints[0].address;
    expect((await api(`/api/apps/${appId}`, { method: 'DELETE' })).status).toBe(204);
    await eventually('the app\'s containers to be removed', async () => {
      const left = await docker.listContainers({ all: true, filters: { label: [`berth.app=${appId}`] } });
      return left.length === 0 ? true : undefined;
    }, 60_000);
    await eventually('the app\'s images to be removed', async () => {
      const left = await docker.listImages({ filters: { reference: [`berth-app-${appId}`] } });
      return left.length === 0 ? true : undefined;
    }, 30_000);
    expect((await api(`/api/apps/${appId}`)).status).toBe(404);
    await expect(page(serving)).rejects.toThrow();
  });
});
