/**
 * Alerts through real processes: the control plane and a worker agent as processes, a real Docker
 * Engine running the app, and a real local HTTP receiver for the notifications. crashloop resolving
 * after the app stayed up for 5 minutes is covered with injected time (alert-evaluator.spec.ts).
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
  let crashingAppId: string | undefined;
  let crashingRepo: AppRepo | undefined;
  const unique = `berth-alerts-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;

  beforeAll(async () => {
    buildDist();
    await ensureBusyboxImage();
    receiver = await startHttpReceiver();
    // A poller tick every second: were it to fire crashloop again, the test would see it.
    berth = await startBerth({ agentEnv: { BERTH_HEALTH_CHECK_DEADLINE_MS: '5000' }, controlPlaneEnv: { BERTH_ALERT_TICK_MS: '1000' } });
    repo = await createAppRepo({ message: `${unique} broken`, behaviour: 'never-listens' });
  }, 180_000);

  afterAll(async () => {
    await berth?.close();
    if (appId) await removeAppImages(appId).catch(() => undefined);
    if (crashingAppId) await removeAppImages(crashingAppId).catch(() => undefined);
    await repo?.remove();
    await crashingRepo?.remove();
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

  it('an app that exits on start is restarted by the Engine; its exits fire crashloop, told once', async () => {
    crashingRepo = await createAppRepo({ message: `${unique} crashing`, behaviour: 'exits' });
    const created = await berth.api('/api/apps', { json: { name: 'crashing', source: { type: 'git', repoUrl: crashingRepo.url, branch: 'main' }, port: 8080, memoryMb: 64 } });
    expect(created.status).toBe(201);
    crashingAppId = created.body.id as string;
    const rule = await berth.api(`/api/apps/${crashingAppId}/alert-rules`, { json: { kind: 'crashloop', channels: [{ type: 'webhook', url: `${receiver.url}/crashloop` }] } });
    expect(rule.status).toBe(201);

    const deploying = await berth.api(`/api/apps/${crashingAppId}/deployments`, { method: 'POST' });
    const failed = await berth.waitDeployment(deploying.body.id);
    expect(failed.status).toBe('failed');
    expect(failed.reason).toMatch(/^container exited with code 3 before becoming healthy \(restarted \d+ times\)$/);

    const fired = await eventually('the crashloop notification', async () => (receiver.acknowledged('/crashloop').length >= 1 ? receiver.acknowledged('/crashloop') : undefined), 60_000);
    expect(JSON.parse(fired[0].body)).toMatchObject({ event: 'alert.fired', kind: 'crashloop', appId: crashingAppId, ruleId: rule.body.id });
    const incidents = (await berth.api(`/api/apps/${crashingAppId}/alerts`)).body;
    expect(incidents).toMatchObject([{ ruleId: rule.body.id, kind: 'crashloop', state: 'firing', value: expect.any(Number) }]);
    expect(incidents[0].value).toBeGreaterThanOrEqual(3);
    // Each exit the agent saw is one ContainerExited, with the app's exit code; Berth removing the
    // failed container is not among them.
    const events: { type: string; streamId: string; data: { exitCode: number } }[] = [];
    for (let after = ''; ; ) {
      const page = (await berth.api(`/api/events?limit=1000${after ? `&after=${encodeURIComponent(after)}` : ''}`)).body;
      events.push(...page.events);
      if (page.events.length < 1000) break;
      after = page.next;
    }
    const exits = events.filter((e) => e.type === 'ContainerExited' && e.streamId === `deployment-${deploying.body.id}`);
    expect(exits.length).toBeGreaterThanOrEqual(3);
    expect(new Set(exits.map((e) => e.data.exitCode))).toEqual(new Set([3]));
    // Bounded wait to prove an absence: several poller ticks (1 s) and the outbox's retries find nothing more to tell.
    await new Promise((r) => setTimeout(r, 5_000));
    expect(receiver.requests.filter((r) => r.path === '/crashloop').map((r) => JSON.parse(r.body).event)).toEqual(['alert.fired']);
  });
});
