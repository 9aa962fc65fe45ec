/**
 * The control plane dies (SIGKILL) while a deployment is building: the agent keeps building, buffers
 * what it could not send, reconnects to the restarted control plane and delivers it. The agent dies
 * mid-build: the restarted agent is sent the job again and runs it, numbering its build log after the
 * lines already stored. Either way the deployment succeeds with its whole build log; nothing is stuck.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBerth, type Berth } from '../support/berth';
import { ensureBusyboxImage, removeAppImages, requireDockerOrSkip } from '../support/docker';
import { createAppRepo, pushCommit, type AppRepo } from '../support/git-fixture';
import { buildDist, eventually } from '../support/processes';

const hasDocker = requireDockerOrSkip();

describe.skipIf(!hasDocker)('restarts during a deploy', { timeout: 180_000 }, () => {
  let berth: Berth;
  let repo: AppRepo;
  let appId: string;
  const unique = `restart-${Date.now()}`;

  const buildLog = async (deploymentId: string): Promise<{ seq: number; line: string }[]> =>
    (await berth.api(`/api/deployments/${deploymentId}/logs?limit=1000`)).body.lines;
  const page = async (): Promise<string> => {
    const view = (await berth.api(`/api/apps/${appId}`)).body;
    return (await fetch(`http://${view.endpoints[0].address}/`)).text();
  };

  beforeAll(async () => {
    buildDist();
    await ensureBusyboxImage();
    berth = await startBerth();
    repo = await createAppRepo({ message: unique, behaviour: 'slow-build' });
  }, 180_000);

  afterAll(async () => {
    await berth?.close();
    if (appId) await removeAppImages(appId).catch(() => undefined);
    await repo?.remove();
  });

  it('finishes the deployment, with its whole build log, after the control plane is killed mid-build', async () => {
    const app = await berth.api('/api/apps', { json: { name: 'restart-app', source: { type: 'git', repoUrl: repo.url, branch: 'main' }, port: 8080, memoryMb: 64 } });
    appId = app.body.id;
    const d = await berth.api(`/api/apps/${appId}/deployments`, { method: 'POST' });
    expect(d.status).toBe(202);
    await eventually('the build to start', async () => ((await berth.api(`/api/deployments/${d.body.id}`)).body?.status === 'building' ? true : undefined), 60_000, 50);

    await berth.restartControlPlane('SIGKILL');

    const done = await berth.waitDeployment(d.body.id);
    expect(done.status, done.reason).toBe('succeeded');
    expect(await page()).toContain(unique);
    const lines = await buildLog(d.body.id);
    const text = lines.map((l) => l.line).join('\n');
    expect(text).toContain('building slowly');
    expect(text).toContain('done building');
    expect(lines.map((l) => l.seq)).toEqual(lines.map((_, i) => i + 1));
  });

  it('re-runs a job whose agent was killed mid-build, keeping every build log line', async () => {
    // The RUN step's own line: bare from the classic builder, behind its step number ("#6 ") from BuildKit.
    const isSlowStep = (l: { line: string }) => /^(#\d+ )?building slowly$/.test(l.line.trim());
    const message = `${unique} after agent restart`;
    await pushCommit(repo, message, 'slow-build');
    const d = await berth.api(`/api/apps/${appId}/deployments`, { method: 'POST' });
    await eventually('the build to print its first slow step', async () => ((await buildLog(d.body.id)).some(isSlowStep) ? true : undefined), 60_000, 50);

    await berth.restartAgent('SIGKILL');

    const done = await berth.waitDeployment(d.body.id);
    expect(done.status, done.reason).toBe('succeeded');
    expect(await page()).toContain(message);
    const lines = await buildLog(d.body.id);
    expect(lines.map((l) => l.seq)).toEqual(lines.map((_, i) => i + 1));
    // The first run's output up to the kill, then the whole second run.
    expect(lines.filter(isSlowStep), lines.map((l) => l.line).join('\n')).toHaveLength(2);
    expect(lines.map((l) => l.line).join('\n')).toContain('done building');
  });
});
