import { loadControlPlaneConfig } from '@berth/config';
import { createHmac, randomUUID } from 'node:crypto';
import { Client, Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StatsStore } from '../apps/control-plane/src/modules/stats/stats.store';
import { feedStats } from './support/live-stats';
import { EventStore } from '@berth/event-store';
import { AlertPoller } from '../apps/control-plane/src/modules/alerts/alert-poller';
import { AlertsBackground } from '../apps/control-plane/src/modules/alerts/alerts.module';
import { AlertOutbox } from '../apps/control-plane/src/modules/alerts/alerts.repository';
import { DeployService } from '../apps/control-plane/src/modules/deploy/deploy.service';
import { JobResults } from '../apps/control-plane/src/modules/deploy/job-results';
import { startHttpReceiver, startSmtpReceiver, type HttpReceiver, type SmtpReceiver } from './support/alert-receivers';
import { createTestDatabase, type TestDatabase } from './support/database';
import { startControlPlane, type RunningControlPlane } from './support/control-plane';

/** Response bodies in these tests are checked by value, so they are read untyped. */
const jsonOf = (res: Response): Promise<any> => res.json();
const SECRET = 'whsec_test_0123456789';
/** Deliveries wait on a 1 s sender interval and retries: give a busy machine room. */
const NOTIFY_WAIT_MS = 30_000;

async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + NOTIFY_WAIT_MS;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${NOTIFY_WAIT_MS} ms; last value: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The incident has `n` deliveries, every one acknowledged. */
const allSent = (incident: { deliveries: { status: string }[] }, n: number) => incident.deliveries.length === n && incident.deliveries.every((d) => d.status === 'sent');

describe('alerts: rules API, poller, reactions and notifications (real PostgreSQL, real receivers)', { timeout: 90_000 }, () => {
  let db: TestDatabase;
  let cp: RunningControlPlane;
  let pg: Client;
  let http: HttpReceiver;
  let smtp: SmtpReceiver;

  const start = () =>
    startControlPlane(db.url, {
      alerts: { ...loadControlPlaneConfig({}).alerts, tickMs: 3_600_000, retryBaseMs: 50, smtpUrl: smtp.url, webhookSecret: SECRET },
    });
  const eventCount = async () => Number((await pg.query<{ n: string }>('SELECT count(*) AS n FROM events')).rows[0].n);
  const createApp = async (name: string, extra: object = {}) => {
    const res = await cp.api('/api/apps', { method: 'POST', json: { name, source: { type: 'git', repoUrl: 'https://codeberg.org/acme/web.git', branch: 'main' }, port: 8080, ...extra } });
    expect(res.status).toBe(201);
    return (await jsonOf(res)) as { id: string };
  };
  const createRule = async (appId: string, rule: object) => {
    const res = await cp.api(`/api/apps/${appId}/alert-rules`, { method: 'POST', json: rule });
    const body = await jsonOf(res);
    expect(res.status, JSON.stringify(body)).toBe(201);
    return body as { id: string; status: string };
  };
  const incidents = async (appId: string) => jsonOf(await cp.api(`/api/apps/${appId}/alerts`));

  async function refused(send: () => Promise<Response>, message: RegExp): Promise<void> {
    const before = await eventCount();
    const res = await send();
    const body = await jsonOf(res);
    expect(res.status, JSON.stringify(body)).toBe(400);
    expect(body).toEqual({ statusCode: 400, error: expect.any(String), message: expect.stringMatching(message) });
    expect(await eventCount()).toBe(before);
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    http = await startHttpReceiver();
    smtp = await startSmtpReceiver();
    cp = await start();
    pg = new Client({ connectionString: db.url });
    await pg.connect();
  });
  afterAll(async () => {
    await pg?.end();
    await cp?.close();
    await http?.close();
    await smtp?.close();
    await db?.drop();
  });

  it('creates, lists, changes and deletes rules', async () => {
    const app = await createApp('rules-crud');
    const rule = await createRule(app.id, { kind: 'cpu', threshold: 80, channels: [{ type: 'webhook', url: `${http.url}/crud` }] });
    expect(rule).toEqual({
      id: expect.any(String),
      appId: app.id,
      kind: 'cpu',
      threshold: 80,
      sustainMinutes: 5,
      enabled: true,
      channels: [{ type: 'webhook', url: `${http.url}/crud` }],
      status: 'ok',
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    const offline = await createRule(app.id, { kind: 'offline', channels: [{ type: 'email', to: 'ops@example.com' }] });
    expect(offline).not.toHaveProperty('threshold');
    expect((await jsonOf(await cp.api(`/api/apps/${app.id}/alert-rules`))).map((r: { id: string }) => r.id)).toEqual([rule.id, offline.id]);

    const patched = await jsonOf(await cp.api(`/api/alert-rules/${rule.id}`, { method: 'PATCH', json: { threshold: 90, sustainMinutes: 10, enabled: false } }));
    expect(patched).toMatchObject({ id: rule.id, threshold: 90, sustainMinutes: 10, enabled: false });
    const stream = await pg.query(`SELECT type FROM events WHERE stream_id = $1 ORDER BY version`, [`alertrule-${rule.id}`]);
    expect(stream.rows.map((r) => r.type)).toEqual(['AlertRuleCreated', 'AlertRuleChanged']);
    expect((await pg.query(`SELECT sustain_minutes FROM alert_rules WHERE id = $1`, [rule.id])).rows[0].sustain_minutes).toBe(10);

    expect((await cp.api(`/api/alert-rules/${rule.id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await cp.api(`/api/alert-rules/${rule.id}`, { method: 'DELETE' })).status).toBe(404);
    expect((await cp.api(`/api/alert-rules/${randomUUID()}`, { method: 'PATCH', json: { enabled: true } })).status).toBe(404);
    expect((await cp.api(`/api/apps/${randomUUID()}/alert-rules`, { method: 'POST', json: { kind: 'offline' } })).status).toBe(404);
    expect((await jsonOf(await cp.api(`/api/apps/${app.id}/alert-rules`))).map((r: { id: string }) => r.id)).toEqual([offline.id]);
  });

  it.each([
    { name: 'an unknown kind', rule: { kind: 'disk', threshold: 5 }, message: /kind must be one of cpu, memory, restarts, offline, crashloop, deployment_failed/ },
    { name: 'a threshold kind without a threshold', rule: { kind: 'cpu' }, message: /threshold is required for a cpu rule/ },
    { name: 'a cpu threshold of 0', rule: { kind: 'cpu', threshold: 0 }, message: /threshold of a cpu rule must be between 1 and 100/ },
    { name: 'a memory threshold over 100 percent', rule: { kind: 'memory', threshold: 150 }, message: /threshold of a memory rule must be between 1 and 100/ },
    { name: 'a fractional restart count', rule: { kind: 'restarts', threshold: 2.5 }, message: /threshold of a restarts rule must be a whole number/ },
    { name: 'a threshold that is not a number', rule: { kind: 'cpu', threshold: '80' }, message: /threshold must be a number/ },
    { name: 'a sustain window of 0', rule: { kind: 'cpu', threshold: 80, sustainMinutes: 0 }, message: /sustainMinutes must not be less than 1/ },
    { name: 'a sustain window over a day', rule: { kind: 'cpu', threshold: 80, sustainMinutes: 1441 }, message: /sustainMinutes must not be greater than 1440 \(a day\)/ },
    { name: 'a threshold on an event kind', rule: { kind: 'offline', threshold: 5 }, message: /offline rules fire on an event and take no threshold/ },
    { name: 'a webhook URL that is not http(s)', rule: { kind: 'offline', channels: [{ type: 'webhook', url: 'ftp://example.com/x' }] }, message: /channels\.0\.url must be an http:\/\/ or https:\/\/ URL/ },
    { name: 'a slack URL that is not a URL', rule: { kind: 'offline', channels: [{ type: 'slack', url: 'hooks.slack.com' }] }, message: /channels\.0\.url must be an http:\/\/ or https:\/\/ URL/ },
    { name: 'an email that is not one', rule: { kind: 'offline', channels: [{ type: 'email', to: 'ops-at-example.com' }] }, message: /channels\.0\.to must be an email address/ },
    { name: 'an unknown channel type', rule: { kind: 'offline', channels: [{ type: 'pager', to: 'x' }] }, message: /channels\.0\.type must be "webhook", "slack" or "email"/ },
    { name: 'an unknown field', rule: { kind: 'offline', severity: 'high' }, message: /property severity should not exist/ },
  ])('refuses $name with 400 and appends nothing', async ({ rule, message }) => {
    const app = (await jsonOf(await cp.api('/api/apps'))).find((a: { name: string }) => a.name === 'bad-input') ?? (await createApp('bad-input'));
    await refused(() => cp.api(`/api/apps/${app.id}/alert-rules`, { method: 'POST', json: rule }), message);
  });

  it('refuses a change that would make a rule invalid, and appends nothing', async () => {
    const app = await createApp('bad-patch');
    const rule = await createRule(app.id, { kind: 'memory', threshold: 80 });
    await refused(() => cp.api(`/api/alert-rules/${rule.id}`, { method: 'PATCH', json: { threshold: 500 } }), /threshold of a memory rule must be between 1 and 100/);
    await refused(() => cp.api(`/api/alert-rules/${rule.id}`, { method: 'PATCH', json: { sustainMinutes: 0 } }), /sustainMinutes must not be less than 1/);
  });

  it('a cpu rule fires after sustain_minutes over its threshold, once, on every channel; its debounce survives a restart', async () => {
    const app = await createApp('cpu-hot', { cpus: 0.5 });
    const rule = await createRule(app.id, {
      kind: 'cpu',
      threshold: 80,
      sustainMinutes: 5,
      channels: [{ type: 'webhook', url: `${http.url}/cpu` }, { type: 'slack', url: `${http.url}/cpu-slack` }, { type: 'email', to: 'cpu@example.com' }],
    });
    const T0 = new Date(Date.now() + 60_000);
    const at = (minutes: number) => new Date(T0.getTime() + minutes * 60_000);
    const setCpu = (cpuPercent: number) =>
      feedStats(cp.app.get(StatsStore), app.id, {
        live: true,
        sampledAt: T0.toISOString(),
        cpuPercent,
        memoryBytes: 1,
        memoryLimitBytes: 100,
        netRxBytes: 0,
        netTxBytes: 0,
        blockReadBytes: 0,
        blockWriteBytes: 0,
        pids: 1,
        restarts: 0,
      });
    // 45 % of one core is 90 % of the app's half-core limit.
    setCpu(45);
    expect(await cp.app.get(AlertPoller).tick(at(0))).toBe(0);
    expect(await cp.app.get(AlertPoller).tick(at(4.5))).toBe(0);
    expect((await jsonOf(await cp.api(`/api/apps/${app.id}/alert-rules`)))[0].status).toBe('pending_fire');

    // A restart of the control plane (and so of the poller's leadership) keeps the window's start.
    await cp.close();
    cp = await start();
    setCpu(45);
    expect(await cp.app.get(AlertPoller).tick(at(5))).toBe(1);
    expect(await cp.app.get(AlertPoller).tick(at(5.5))).toBe(0);

    const [incident] = await eventually(() => incidents(app.id), (list) => list.length === 1 && allSent(list[0], 3));
    expect(incident).toMatchObject({ ruleId: rule.id, kind: 'cpu', state: 'firing', firedAt: at(5).toISOString(), value: 90 });
    expect(incident.resolvedAt).toBeUndefined();
    expect(incident.deliveries).toHaveLength(3);

    const [hook] = http.acknowledged('/cpu');
    expect(http.acknowledged('/cpu')).toHaveLength(1);
    expect(JSON.parse(hook.body)).toMatchObject({ event: 'alert.fired', incidentId: incident.id, ruleId: rule.id, appId: app.id, kind: 'cpu', state: 'firing', value: 90 });
    expect(hook.headers['x-berth-signature']).toBe(`sha256=${createHmac('sha256', SECRET).update(hook.body).digest('hex')}`);
    expect(hook.headers['x-berth-delivery']).toBe(incident.deliveries.find((d: { channel: { type: string } }) => d.channel.type === 'webhook').id);
    expect(http.acknowledged('/cpu-slack')).toHaveLength(1);
    expect(JSON.parse(http.acknowledged('/cpu-slack')[0].body).text).toMatch(/FIRING: cpu alert on app/);
    expect(smtp.mails.filter((m) => m.to.includes('cpu@example.com'))).toHaveLength(1);

    // Below the threshold: resolves only after the whole window.
    setCpu(10);
    expect(await cp.app.get(AlertPoller).tick(at(6))).toBe(0);
    expect(await cp.app.get(AlertPoller).tick(at(10.5))).toBe(0);
    expect(await cp.app.get(AlertPoller).tick(at(11))).toBe(1);
    const [resolved] = await eventually(() => incidents(app.id), (list) => list[0].state === 'resolved' && allSent(list[0], 6));
    expect(resolved).toMatchObject({ id: incident.id, state: 'resolved', resolvedAt: at(11).toISOString() });
    expect(resolved.deliveries).toHaveLength(6);
    expect(http.acknowledged('/cpu').map((r) => JSON.parse(r.body).event)).toEqual(['alert.fired', 'alert.resolved']);
    expect(smtp.mails.filter((m) => m.to.includes('cpu@example.com'))).toHaveLength(2);
  });

  it('deployment_failed fires on a failed deployment and resolves on the next good one; an HTTP receiver and an SMTP server that fail twice still see each edge once', async () => {
    const app = await createApp('deploy-fails');
    const rule = await createRule(app.id, {
      kind: 'deployment_failed',
      channels: [{ type: 'webhook', url: `${http.url}/deploy` }, { type: 'email', to: 'deploys@example.com' }],
    });
    const deploy = cp.app.get(DeployService);
    const results = cp.app.get(JobResults);
    const workerId = randomUUID();
    const run = async () => {
      const res = await cp.api(`/api/apps/${app.id}/deployments`, { method: 'POST', json: {} });
      expect(res.status).toBe(202);
      const d = (await jsonOf(res)) as { id: string };
      const jobId = randomUUID();
      await deploy.assign(d.id, { jobId, workerId, memoryMb: 256 });
      await results.recordJobStarted(workerId, { jobId, phase: 'starting' });
      return jobId;
    };

    http.failNext(2, '/deploy');
    smtp.failNext(2);
    const failed = await run();
    await results.recordJobFailed(workerId, { jobId: failed, reason: 'health check failed: GET / answered 500', logTail: [] });
    const [incident] = await eventually(() => incidents(app.id), (list) => list.length === 1 && allSent(list[0], 2));
    expect(incident).toMatchObject({ ruleId: rule.id, kind: 'deployment_failed', state: 'firing' });
    const webhook = incident.deliveries.find((d: { channel: { type: string } }) => d.channel.type === 'webhook');
    expect(webhook.attempts.map((a: { ok: boolean }) => a.ok)).toEqual([false, false, true]);
    expect(webhook.attempts[0].error).toMatch(/answered 500/);
    const tries = http.requests.filter((r) => r.path === '/deploy');
    expect(tries.map((r) => r.status)).toEqual([500, 500, 200]);
    expect(new Set(tries.map((r) => r.headers['x-berth-delivery']))).toEqual(new Set([webhook.id]));
    const email = incident.deliveries.find((d: { channel: { type: string } }) => d.channel.type === 'email');
    expect(email.attempts.map((a: { ok: boolean }) => a.ok)).toEqual([false, false, true]);
    expect(email.attempts[0].error).toMatch(/451/);
    expect(smtp.refused).toBe(2);
    expect(smtp.mails.filter((m) => m.to.includes('deploys@example.com'))).toHaveLength(1);
    expect(smtp.mails.find((m) => m.to.includes('deploys@example.com'))!.raw).toMatch(/FIRING: deployment_failed/);

    const good = await run();
    await results.recordJobSucceeded(workerId, { jobId: good, containerId: 'ctr-good', hostPort: 40123 });
    const [resolved] = await eventually(() => incidents(app.id), (list) => list[0].state === 'resolved' && allSent(list[0], 4));
    expect(resolved.id).toBe(incident.id);
    expect(http.acknowledged('/deploy').map((r) => JSON.parse(r.body).event)).toEqual(['alert.fired', 'alert.resolved']);
    expect(smtp.mails.filter((m) => m.to.includes('deploys@example.com'))).toHaveLength(2);
  });

  it('offline fires when the app stops because its worker went offline and resolves when it runs again; crashloop fires on the third exit within 5 minutes', async () => {
    const app = await createApp('stops-and-crashes');
    await createRule(app.id, { kind: 'offline', channels: [{ type: 'webhook', url: `${http.url}/offline` }] });
    await createRule(app.id, { kind: 'crashloop', channels: [{ type: 'webhook', url: `${http.url}/crashloop` }] });
    const store = cp.app.get(EventStore);
    const workerId = randomUUID();
    const deploymentId = randomUUID();
    // As the worker-health module appends them.
    await store.append(`app-${app.id}`, 'app', 'any', [{ type: 'AppStopped', data: { appId: app.id, workerId, reason: 'worker_offline' } }]);
    await eventually(async () => http.acknowledged('/offline'), (r) => r.length === 1);
    await store.append(`app-${app.id}`, 'app', 'any', [{ type: 'AppRestored', data: { appId: app.id, workerId, deploymentId } }]);
    await eventually(async () => http.acknowledged('/offline'), (r) => r.length === 2);
    expect(http.acknowledged('/offline').map((r) => JSON.parse(r.body).event)).toEqual(['alert.fired', 'alert.resolved']);

    const now = Date.now();
    for (const [i, offsetMs] of [-200_000, -100_000, 0].entries()) {
      await store.append(`deployment-${deploymentId}`, 'deployment', 'any', [
        { type: 'ContainerExited', data: { deploymentId, appId: app.id, containerId: `ctr-${i}`, exitCode: 1, at: new Date(now + offsetMs).toISOString() } },
      ]);
    }
    const [hook] = await eventually(async () => http.acknowledged('/crashloop'), (r) => r.length === 1);
    expect(JSON.parse(hook.body)).toMatchObject({ event: 'alert.fired', kind: 'crashloop', value: 3 });
    const list = await incidents(app.id);
    expect(list.map((i: { kind: string; state: string }) => [i.kind, i.state])).toEqual([
      ['crashloop', 'firing'],
      ['offline', 'resolved'],
    ]);

    // Deleting the app deletes its rules and resolves the open incident without telling anyone.
    expect((await cp.api(`/api/apps/${app.id}`, { method: 'DELETE' })).status).toBe(204);
    await eventually(async () => (await pg.query(`SELECT count(*)::int AS n FROM alert_rules WHERE app_id = $1`, [app.id])).rows[0].n, (n) => n === 0);
    const states = await pg.query(`SELECT state FROM alert_incidents WHERE app_id = $1 ORDER BY fired_at`, [app.id]);
    expect(states.rows.map((r) => r.state)).toEqual(['resolved', 'resolved']);
    const silent = await pg.query(`SELECT data->'channels' AS channels FROM events WHERE type = 'AlertResolved' AND data->>'appId' = $1 AND data->>'kind' = 'crashloop'`, [app.id]);
    expect(silent.rows).toEqual([{ channels: [] }]);
  });

  it('a claimed delivery is skipped by other senders until its lease lapses, and a lapsed claim records nothing', async () => {
    const pool = new Pool({ connectionString: db.url, max: 2 });
    try {
      const outbox = new AlertOutbox(pool);
      // An hour ahead: the control plane's own sender (real clock) does not see the row as due.
      const now = new Date(Date.now() + 3_600_000);
      const id = randomUUID();
      await pg.query(
        `INSERT INTO alert_outbox (id, incident_id, edge, channel_key, channel, payload, next_attempt_at, created_at) VALUES ($1, $2, 'fired', 'webhook:x', '{}', '{}', $3, $3)`,
        [id, randomUUID(), now],
      );
      const [first, second] = [randomUUID(), randomUUID()];
      expect((await outbox.claimDue(now, 1000, first))?.id).toBe(id);
      expect(await outbox.claimDue(now, 1000, second)).toBeUndefined();
      const later = new Date(now.getTime() + 2000);
      expect((await outbox.claimDue(later, 1000, second))?.id).toBe(id);
      expect(await outbox.markSent(id, first, later, [])).toBe(false);
      expect(await outbox.markSent(id, second, later, [{ at: later.toISOString(), ok: true }])).toBe(true);
      expect(await outbox.claimDue(new Date(now.getTime() + 60_000), 1000, randomUUID())).toBeUndefined();
      expect((await pg.query(`SELECT status FROM alert_outbox WHERE id = $1`, [id])).rows[0].status).toBe('sent');
    } finally {
      await pool.end();
    }
  });

  it('with two replicas, each edge reaches each channel exactly once', async () => {
    const b = await start();
    try {
      const app = await createApp('two-replicas');
      const rule = await createRule(app.id, { kind: 'offline', channels: [{ type: 'webhook', url: `${http.url}/two` }, { type: 'email', to: 'two@example.com' }] });
      const store = cp.app.get(EventStore);
      const workerId = randomUUID();
      for (let i = 0; i < 3; i++) {
        await store.append(`app-${app.id}`, 'app', 'any', [{ type: 'AppStopped', data: { appId: app.id, workerId, reason: 'worker_offline' } }]);
        await store.append(`app-${app.id}`, 'app', 'any', [{ type: 'AppRestored', data: { appId: app.id, workerId, deploymentId: randomUUID() } }]);
      }
      // Both replicas' senders drain at once, besides their background loops.
      const senders = [cp, b].map((r) => r.app.get(AlertsBackground).sender);
      await Promise.all(senders.flatMap((s) => [s.sendDue(new Date(Date.now() + 1000)), s.sendDue(new Date(Date.now() + 1000))]));
      const all = await eventually(() => incidents(app.id), (list) => list.length === 3 && list.every((i: { state: string; deliveries: { status: string }[] }) => i.state === 'resolved' && allSent(i, 4)));
      expect(all.every((i: { ruleId: string }) => i.ruleId === rule.id)).toBe(true);
      const hooks = http.acknowledged('/two');
      expect(hooks).toHaveLength(6);
      expect(new Set(hooks.map((r) => r.headers['x-berth-delivery'])).size).toBe(6);
      expect(http.requests.filter((r) => r.path === '/two')).toHaveLength(6);
      expect(smtp.mails.filter((m) => m.to.includes('two@example.com'))).toHaveLength(6);
    } finally {
      await b.close();
    }
  });
});
