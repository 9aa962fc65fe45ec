/**
 * Push to live through a real webhook: real PostgreSQL, the control plane and a worker agent as real
 * processes, a real Docker Engine. A commit is pushed to the test repository, the git host's signed
 * push event is sent, and the app answers with exactly that commit.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signatureHeaders } from '../../apps/control-plane/src/modules/webhooks/webhook-verify';
import { startBerth, type Berth } from '../support/berth';
import { ensureBusyboxImage, removeAppImages, requireDockerOrSkip } from '../support/docker';
import { createAppRepo, pushCommit, type AppRepo } from '../support/git-fixture';
import { buildDist } from '../support/processes';
import { repointedPush } from '../support/webhook-fixtures';

const hasDocker = requireDockerOrSkip();

describe.skipIf(!hasDocker)('auto-deploy on push, end to end', { timeout: 240_000 }, () => {
  let berth: Berth;
  let repo: AppRepo;
  let app: { id: string; webhookSecret: string };
  const unique = `berth-hook-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;

  /** GitHub's push event for `commit` on main, signed with the app's secret, sent to the app's webhook URL. */
  async function githubPush(commit: string): Promise<{ status: number; body: any }> {
    const body = repointedPush('github', { repoUrl: repo.url, branch: 'main', commit });
    const res = await fetch(`${berth.base}/api/webhooks/github/${app.id}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-github-delivery': randomUUID(), ...signatureHeaders('github', app.webhookSecret, body) },
      body,
    });
    return { status: res.status, body: await res.json() };
  }

  async function servedPage(): Promise<string> {
    const view = (await berth.api(`/api/apps/${app.id}`)).body;
    return (await fetch(`http://${view.endpoints[0].address}/`)).text();
  }

  beforeAll(async () => {
    buildDist();
    await ensureBusyboxImage();
    berth = await startBerth({ agentEnv: { BERTH_HEALTH_CHECK_DEADLINE_MS: '6000' } });
    repo = await createAppRepo({ message: `${unique} one` });
    const created = await berth.api('/api/apps', { json: { name: 'hooked', source: { type: 'git', repoUrl: repo.url, branch: 'main' }, port: 8080, memoryMb: 64 } });
    expect(created.status).toBe(201);
    app = created.body;
  }, 180_000);

  afterAll(async () => {
    await berth?.close();
    if (app) await removeAppImages(app.id).catch(() => undefined);
    await repo?.remove();
  });

  it('deploys the pushed commit, and only that commit, when the push event arrives', async () => {
    const first = await githubPush(repo.head);
    expect(first.status, JSON.stringify(first.body)).toBe(202);
    const done1 = await berth.waitDeployment(first.body.deploymentId);
    expect(done1.status, `${done1.reason}\n${berth.agent.log().slice(-3000)}`).toBe('succeeded');
    expect(done1.commit).toBe(repo.head);
    expect(await servedPage()).toBe(`${unique} one\n`);

    // Two pushes land; the event for the first of them arrives: that commit goes live, not the branch head.
    const two = await pushCommit(repo, `${unique} two`);
    await pushCommit(repo, `${unique} three`);
    const second = await githubPush(two);
    expect(second.status, JSON.stringify(second.body)).toBe(202);
    expect(second.body.commit).toBe(two);
    const done2 = await berth.waitDeployment(second.body.deploymentId);
    expect(done2.status, `${done2.reason}\n${berth.agent.log().slice(-3000)}`).toBe('succeeded');
    expect(done2.commit).toBe(two);
    expect(await servedPage()).toBe(`${unique} two\n`);

    // The agent fetched into its mirror instead of cloning again.
    const logs = JSON.stringify((await berth.api(`/api/deployments/${second.body.deploymentId}/logs`)).body);
    expect(logs).toContain('into its mirror');
  });
});
