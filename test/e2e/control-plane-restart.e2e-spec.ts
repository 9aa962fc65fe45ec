/**
 * The control plane dies (SIGKILL) while a deployment is building: the agent keeps building, buffers
 * what it could not send, reconnects to the restarted control plane and delivers it. The agent dies
 * mid-build: the restarted agent is sent the job again and runs it, numbering its build log after the
 * lines already stored. Either way the deployment succeeds with its whole build log; nothing is stuck.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { ensureBusyboxImage, removeContainersByLabel, removeAppImages, requireDockerOrSkip } from '../support/docker';
import { createAppRepo, type AppRepo } from '../support/git-fixture';
import { buildDist, eventually, freePort, startAgentProcess, startControlPlaneProcess, type BerthProcess } from '../support/processes';

const hasDocker = requireDockerOrSkip();
const ADMIN = 'bat_e2e_restart_token_abcdefghijkl';

describe.skipIf(!hasDocker)('restarts during a deploy', { timeout: 180_000 }, () => {
  let db: TestDatabase;
  let cp: BerthProcess;
  let agent: BerthProcess;
  let port: number;
  let base: string;
  let repo: AppRepo;
  let workerId: string;
  let workerToken: string;
  let appId: string;
  const unique = `restart-${Date.now()}`;

  const api = async (path: string, json?: unknown) => {
    const res = await fetch(base + path, {
      method: json === undefined ? 'GET' : 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, ...(json === undefined ? {} : { 'content-type': 'application/json' }) },
      body: json === undefined ? undefined : JSON.stringify(json),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  const startCp = async () => {
    cp = startControlPlaneProcess({ databaseUrl: db.url, port, adminToken: ADMIN });
    await eventually('the control plane to answer /healthz', async () => ((await fetch(`${base}/healthz`)).ok ? true : undefined), 60_000);
  };

  beforeAll(async () => {
    buildDist();
    await ensureBusyboxImage();
    db = await createTestDatabase();
    port = await freePort();
    base = `http://127.0.0.1:${port}`;
    await startCp();
    const worker = await api('/api/workers', { name: 'restart-worker' });
    workerId = worker.body.id;
    workerToken = worker.body.token;
    agent = startAgentProcess({ url: base, token: workerToken });
    await eventually('the worker to come online', async () => ((await api(`/api/workers/${workerId}`)).body?.status === 'online' ? true : undefined));
    repo = await createAppRepo({ message: unique, behaviour: 'slow-build' });
  }, 180_000);

  afterAll(async () => {
    await agent?.stop();
    await cp?.stop();
    if (workerId) await removeContainersByLabel(`berth.worker=${workerId}`);
    if (appId) await removeAppImages(appId).catch(() => undefined);
    await repo?.remove();
    await db?.drop();
  });

  it('finishes the deployment, with its whole build log, after the control plane is killed mid-build', async () => {
    const app = await api('/api/apps', { name: 'restart-app', source: { type: 'git', repoUrl: repo.url, branch: 'main' }, port: 8080, memoryMb: 64 });
    appId = app.body.id;
    const d = await api(`/api/apps/${appId}/deployments`, {});
    expect(d.status).toBe(202);
    await eventually('the build to start', async () => ((await api(`/api/deployments/${d.body.id}`)).body?.status === 'building' ? true : undefined), 60_000, 50);

    await cp.stop('SIGKILL');
    await startCp();

    const done = await eventually('the deployment to finish', async () => {
      const { body } = await api(`/api/deployments/${d.body.id}`);
      return body?.status === 'succeeded' || body?.status === 'failed' ? body : undefined;
    }, 120_000, 250);
    expect(done.status, done.reason).toBe('succeeded');
    const view = (await api(`/api/apps/${appId}`)).body;
    expect(await (await fetch(`http://${view.endpoints[0].address}/`)).text()).toContain(unique);

    const logs = (await api(`/api/deployments/${d.body.id}/logs?limit=1000`)).body;
    const text = JSON.stringify(logs);
    expect(text).toContain('building slowly');
    expect(text).toContain('done building');
    const seqs: number[] = logs.lines.map((l: { seq: number }) => l.seq);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
  });

  it('re-runs a job whose agent was killed mid-build, keeping every build log line', async () => {
    const { pushCommit } = await import('../support/git-fixture');
    const message = `${unique} after agent restart`;
    await pushCommit(repo, message, 'slow-build');
    const d = await api(`/api/apps/${appId}/deployments`, {});
    await eventually('the build to print its first slow step', async () => {
      const logs: { lines: { line: string }[] } = (await api(`/api/deployments/${d.body.id}/logs?limit=1000`)).body;
      return logs.lines.some((l) => l.line.trim() === 'building slowly') ? true : undefined;
    }, 60_000, 50);

    await agent.stop('SIGKILL');
    agent = startAgentProcess({ url: base, token: workerToken });

    const done = await eventually('the deployment to finish', async () => {
      const { body } = await api(`/api/deployments/${d.body.id}`);
      return body?.status === 'succeeded' || body?.status === 'failed' ? body : undefined;
    }, 120_000, 250);
    expect(done.status, done.reason).toBe('succeeded');
    const view = (await api(`/api/apps/${appId}`)).body;
    expect(await (await fetch(`http://${view.endpoints[0].address}/`)).text()).toContain(message);

    const lines: { seq: number; line: string }[] = (await api(`/api/deployments/${d.body.id}/logs?limit=1000`)).body.lines;
    expect(lines.map((l) => l.seq)).toEqual(lines.map((_, i) => i + 1));
    const text = lines.map((l) => l.line).join('\n');
    // The first run's output up to the kill, then the whole second run.
    expect(lines.filter((l) => l.line.trim() === 'building slowly'), text).toHaveLength(2);
    expect(text).toContain('done building');
  });
});
