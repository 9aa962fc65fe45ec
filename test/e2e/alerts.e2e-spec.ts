/**
 * Alerts through real processes: the control plane and a worker agent as processes, a real Docker
 * Engine running the app, and a real local HTTP receiver for the notifications.
 * (crashloop end to end needs the agent to report container exits (ContainerExited);
 * test/alerts.medium.spec.ts covers it from that event on.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBerth, type Berth } from '../support/berth';
import { startHttpReceiver, type HttpReceiver } from '../support/alert-receivers';
import { ensureBusyboxImage, removeAppImages, requireDockerOrSkip } from '../support/docker';
import { createAppRepo, pushCommit, type AppRepo } from '../support/git-fixture';
import { buildDist, eventually } from '../support/processes';

const hasDocker = requireDockerOrSkip();

describe.skipIf(!hasDocker)('alerts end to end', { timeout: 240_000 }, () => {
  let berth: Berth;
  let repo: AppRepo;
  let receiver: HttpReceiver;
  let appId: string | undefined;
  const unique = `berth-alerts-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;

  beforeAll(async () => {
    buildDist();
    await ensureBusyboxImage();
    receiver = await startHttpReceiver();
    berth = await startBerth({ agentEnv: { BERTH_HEALTH_CHECK_DEADLINE_MS: '5000' } });
    repo = await createAppRepo({ message: `${unique} broken`, behaviour: 'never-listens' });
  }, 180_000);

  afterAll(async () => {
    await berth?.close();
    if (appId) await removeAppImages(appId).catch(() => undefined);
    await repo?.remove();
    await receiver?.close();
  });

  it('a deploy that fails its health check fires deployment_failed; the next good deploy resolves it; each edge is told once', async () => {
    const created = await berth.api('/api/apps', { json: { name: 'alerted', source: { type: 'git', repoUrl: repo.url, branch: 'main' }, port: 8080, memoryMb: 64 } });
    expect(created.status).toBe(201);
    appId = created.body.id as string;
    const rule = await berth.api(`/api/apps/${appId}/alert-rules`, { json: { kind: 'deployment_failed', channels: [{ type: 'webhook', url: `${receiver.url}/hook` }] } });
    expect(rule.status).toBe(201);

    const failing = await berth.api(`/api/apps/${appId}/deployments`, { method: 'POST' });
    expect((await berth.waitDeployment(failing.body.id)).status).toBe('failed');
    const fired = await eventually('the fired notification', async () => (receiver.acknowledged('/hook').length >= 1 ? receiver.acknowledged('/hook') : undefined), 30_000);
    expect(JSON.parse(fired[0].body)).toMatchObject({ event: 'alert.fired', kind: 'deployment_failed', appId, ruleId: rule.body.id });
    const incidents = (await berth.api(`/api/apps/${appId}/alerts`)).body;
    expect(incidents).toMatchObject([{ ruleId: rule.body.id, kind: 'deployment_failed', state: 'firing' }]);

    await pushCommit(repo, `${unique} fixed`, 'healthy');
    const good = await berth.api(`/api/apps/${appId}/deployments`, { method: 'POST' });
    const done = await berth.waitDeployment(good.body.id);
    expect(done.status, done.reason).toBe('succeeded');
    await eventually('the resolved notification', async () => (receiver.acknowledged('/hook').length >= 2 ? true : undefined), 30_000);
    const after = (await berth.api(`/api/apps/${appId}/alerts`)).body;
    expect(after).toMatchObject([{ id: incidents[0].id, state: 'resolved', resolvedAt: expect.any(String) }]);
    expect(receiver.requests.filter((r) => r.path === '/hook').map((r) => JSON.parse(r.body).event)).toEqual(['alert.fired', 'alert.resolved']);
  });

  it('killing the agent fires offline once the worker is offline; the worker coming back resolves it', async () => {
    expect(appId).toBeDefined();
    const rule = await berth.api(`/api/apps/${appId}/alert-rules`, { json: { kind: 'offline', channels: [{ type: 'webhook', url: `${receiver.url}/offline` }] } });
    expect(rule.status).toBe(201);
    await berth.restartAgent('SIGKILL', async () => {
      const fired = await eventually('the offline notification', async () => (receiver.acknowledged('/offline').length >= 1 ? receiver.acknowledged('/offline') : undefined), 90_000);
      expect(JSON.parse(fired[0].body)).toMatchObject({ event: 'alert.fired', kind: 'offline', appId, ruleId: rule.body.id });
    });
    await eventually('the resolved notification', async () => (receiver.acknowledged('/offline').length >= 2 ? true : undefined), 90_000);
    expect(receiver.requests.filter((r) => r.path === '/offline').map((r) => JSON.parse(r.body).event)).toEqual(['alert.fired', 'alert.resolved']);
    const incidents = (await berth.api(`/api/apps/${appId}/alerts`)).body;
    expect(incidents[0]).toMatchObject({ ruleId: rule.body.id, kind: 'offline', state: 'resolved' });
  });
});
