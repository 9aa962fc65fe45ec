import { createHash, randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WEBHOOK_PROVIDERS, type WebhookProvider } from '@berth/contracts';
import { signatureHeaders } from '../apps/control-plane/src/modules/webhooks/webhook-verify';
import { startControlPlane, type RunningControlPlane } from './support/control-plane';
import { createTestDatabase, type TestDatabase } from './support/database';
import { PUSH_FIXTURES, referencePayload, repointedPush } from './support/webhook-fixtures';

const jsonOf = (res: Response): Promise<any> => res.json();
const REPO = 'file:///srv/git/web.git';
const freshCommit = () => createHash('sha1').update(randomBytes(16)).digest('hex');

describe('webhooks API (real PostgreSQL)', () => {
  let db: TestDatabase;
  let cp: RunningControlPlane;
  let pg: Client;
  let app: { id: string; webhookSecret: string; webhooks: Record<string, string> };

  /** Events a webhook could append (the scheduler's DeploymentWaiting for queued deployments is not one). */
  const appendedCount = async () => Number((await pg.query<{ n: string }>(`SELECT count(*) AS n FROM events WHERE type <> 'DeploymentWaiting'`)).rows[0].n);
  const deploymentsOf = async (appId: string) =>
    (await pg.query<{ data: any; metadata: any }>(`SELECT data, metadata FROM events WHERE type = 'DeploymentRequested' AND data->>'appId' = $1 ORDER BY global_position`, [appId])).rows;

  function send(provider: string, appId: string, body: Buffer, headers: Record<string, string>): Promise<Response> {
    return fetch(`${cp.url}/api/webhooks/${provider}/${appId}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  }

  /** A push of `commit` to `branch`, as `provider` sends it, signed with `secret`. */
  function push(provider: WebhookProvider, opts: { commit: string; branch?: string; secret?: string; delivery?: string; appId?: string }) {
    const body = repointedPush(provider, { repoUrl: REPO, branch: opts.branch ?? 'main', commit: opts.commit });
    const fx = PUSH_FIXTURES[provider];
    const headers = { ...fx.eventHeaders, [fx.deliveryHeader]: opts.delivery ?? randomUUID(), ...signatureHeaders(provider, opts.secret ?? app.webhookSecret, body) };
    return { body, headers, send: () => send(provider, opts.appId ?? app.id, body, headers) };
  }

  async function refused(res: Promise<Response>, before: number): Promise<void> {
    const r = await res;
    expect(r.status).toBe(401);
    expect(await jsonOf(r)).toEqual({ statusCode: 401, error: 'Unauthorized', message: expect.stringContaining('signature does not verify') });
    expect(await appendedCount()).toBe(before);
  }

  async function createApp(name: string, branch = 'main') {
    const res = await cp.api('/api/apps', { method: 'POST', json: { name, source: { type: 'git', repoUrl: REPO, branch }, port: 8080 } });
    expect(res.status).toBe(201);
    return jsonOf(res);
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    cp = await startControlPlane(db.url, { secretKey: randomBytes(32), publicUrl: 'https://berth.example.com' });
    pg = new Client({ connectionString: db.url });
    await pg.connect();
    app = await createApp('web');
  });
  afterAll(async () => {
    await pg?.end();
    await cp?.close();
    await db?.drop();
  });

  it('gives each app a secret once, stores it sealed, and shows the URLs per provider but never the secret', async () => {
    expect(app.webhookSecret).toMatch(/^[0-9a-f]{64}$/);
    const expectedUrls = Object.fromEntries(WEBHOOK_PROVIDERS.map((p) => [p, `https://berth.example.com/api/webhooks/${p}/${app.id}`]));
    expect(app.webhooks).toEqual(expectedUrls);
    const view = await jsonOf(await cp.api(`/api/apps/${app.id}`));
    expect(view.webhooks).toEqual(expectedUrls);
    expect(JSON.stringify(view)).not.toContain(app.webhookSecret);
    expect(JSON.stringify(await jsonOf(await cp.api('/api/apps')))).not.toContain(app.webhookSecret);
    const stored = await pg.query(`SELECT count(*)::int AS n FROM events WHERE data::text LIKE $1 OR metadata::text LIKE $1`, [`%${app.webhookSecret}%`]);
    expect(stored.rows[0].n).toBe(0);
    const set = await pg.query(`SELECT data FROM events WHERE stream_id = $1 AND type = 'WebhookSecretSet'`, [`app-${app.id}`]);
    expect(set.rows).toEqual([{ data: { appId: app.id, encrypted: expect.stringMatching(/^v1\./) } }]);
  });

  describe.each(WEBHOOK_PROVIDERS)('%s', (provider) => {
    it('its real push payload, re-pointed and signed as it signs, requests a deployment of exactly the pushed commit', async () => {
      const commit = freshCommit();
      const p = push(provider, { commit });
      const res = await p.send();
      const body = await jsonOf(res);
      expect(res.status, JSON.stringify(body)).toBe(202);
      expect(body).toEqual({ status: 'deploying', deliveryId: p.headers[PUSH_FIXTURES[provider].deliveryHeader], deploymentId: expect.any(String), branch: 'main', commit });

      const received = await pg.query(`SELECT data, metadata->>'eventId' AS id FROM events WHERE type = 'WebhookReceived' AND data->>'deploymentId' = $1`, [body.deploymentId]);
      expect(received.rows).toHaveLength(1);
      expect(received.rows[0].data).toEqual({ provider, deliveryId: body.deliveryId, appId: app.id, event: expect.any(String), branch: 'main', commit, deploymentId: body.deploymentId });
      const requested = (await deploymentsOf(app.id)).filter((d) => d.data.deploymentId === body.deploymentId);
      expect(requested).toHaveLength(1);
      expect(requested[0].data).toMatchObject({ appId: app.id, commit, trigger: 'webhook' });
      expect(requested[0].metadata).toMatchObject({ causationId: received.rows[0].id, actor: `webhook:${provider}` });
      const deployment = await jsonOf(await cp.api(`/api/deployments/${body.deploymentId}`));
      expect(deployment).toMatchObject({ id: body.deploymentId, appId: app.id, commit });
    });

    it('refuses with 401 and appends nothing: a changed byte, another secret, no signature, another provider’s header', async () => {
      const before = await appendedCount();
      const p = push(provider, { commit: freshCommit() });
      if (provider !== 'gitlab') {
        // GitLab sends the shared token itself, not a signature of the body: a changed body cannot be told apart.
        const altered = Buffer.from(p.body);
        altered[altered.indexOf('"ref"') + 1] ^= 0x20;
        await refused(send(provider, app.id, altered, p.headers), before);
      }
      await refused(push(provider, { commit: freshCommit(), secret: 'not the secret' }).send(), before);
      const unsigned = Object.fromEntries(Object.entries(p.headers).filter(([k]) => !Object.keys(signatureHeaders(provider, 'x', p.body)).includes(k)));
      await refused(send(provider, app.id, p.body, unsigned), before);
      for (const other of WEBHOOK_PROVIDERS) {
        const theirs = signatureHeaders(other, app.webhookSecret, p.body);
        const header = Object.keys(theirs)[0];
        if (header in signatureHeaders(provider, 'x', p.body) || ((provider === 'codeberg' || provider === 'forgejo') && header === 'x-gitea-signature')) continue;
        await refused(send(provider, app.id, p.body, { ...unsigned, ...theirs }), before);
      }
    });
  });

  it('refuses a GitHub-signed body sent to the Gitea route, and an unknown app with the very same answer', async () => {
    const before = await appendedCount();
    const gh = push('github', { commit: freshCommit() });
    await refused(send('gitea', app.id, gh.body, { ...gh.headers, 'x-gitea-event': 'push' }), before);
    const unknownApp = await send('github', randomUUID(), gh.body, gh.headers);
    const wrongSecret = await push('github', { commit: freshCommit(), secret: 'nope' }).send();
    expect(unknownApp.status).toBe(401);
    expect(await unknownApp.text()).toBe(await wrongSecret.text());
    await refused(send('github', 'not-a-uuid', gh.body, gh.headers), before);
    const metrics = await (await fetch(`${cp.url}/metrics`)).text();
    expect(metrics).toMatch(/berth_webhook_rejected_total\{provider="github",reason="unknown_app"\} [1-9]/);
    expect(metrics).toMatch(/berth_webhook_rejected_total\{provider="gitea",reason="missing_signature"\} [1-9]/);
    expect(metrics).toMatch(/berth_webhook_rejected_total\{provider="bitbucket",reason="bad_signature"\} [1-9]/);
  });

  it('deploys a delivery once, however often and however concurrently it is sent', async () => {
    const p = push('github', { commit: freshCommit(), delivery: randomUUID() });
    const first = await p.send();
    expect(first.status).toBe(202);
    const { deploymentId } = await jsonOf(first);
    const again = await p.send();
    expect(again.status).toBe(200);
    expect(await jsonOf(again)).toEqual({ status: 'duplicate', deliveryId: p.headers['x-github-delivery'], deploymentId, reason: expect.stringContaining('already received') });

    for (const provider of ['gitea', 'gitlab', 'bitbucket'] as const) {
      const q = push(provider, { commit: freshCommit(), delivery: randomUUID() });
      const answers = await Promise.all(Array.from({ length: 8 }, () => q.send()));
      const bodies = await Promise.all(answers.map(jsonOf));
      expect(answers.map((r) => r.status).sort(), JSON.stringify(bodies)).toEqual([200, 200, 200, 200, 200, 200, 200, 202]);
      expect(new Set(bodies.map((b) => b.deploymentId)).size).toBe(1);
      const commit = bodies.find((b) => b.status === 'deploying').commit;
      expect((await deploymentsOf(app.id)).filter((d) => d.data.commit === commit)).toHaveLength(1);
    }
  });

  it('names a delivery without a delivery header by its body, per app', async () => {
    const twin = await createApp('twin');
    const body = repointedPush('github', { repoUrl: REPO, branch: 'main', commit: freshCommit() });
    const to = (target: { id: string; webhookSecret: string }) =>
      send('github', target.id, body, { 'x-github-event': 'push', ...signatureHeaders('github', target.webhookSecret, body) });
    expect((await to(app)).status).toBe(202);
    expect((await to(app)).status).toBe(200); // the same body again: the same delivery
    expect((await to(twin)).status).toBe(202); // another app's webhook: its own delivery
  });

  it('answers 200 with the reason and deploys nothing for a ping, a tag push, another branch and a branch deletion', async () => {
    const deploymentsBefore = (await deploymentsOf(app.id)).length;
    const sign = (provider: WebhookProvider, body: Buffer, headers: Record<string, string>) =>
      send(provider, app.id, body, { ...headers, ...signatureHeaders(provider, app.webhookSecret, body) });
    const ping = referencePayload('github-ping.json');
    const tag = referencePayload('github-push-tag-delete.json');
    const gitlabTag = JSON.parse(repointedPush('gitlab', { repoUrl: REPO, branch: 'main', commit: freshCommit() }).toString());
    gitlabTag.ref = 'refs/tags/v1.2.3';
    const deletion = JSON.parse(repointedPush('github', { repoUrl: REPO, branch: 'main', commit: '0'.repeat(40) }).toString());
    deletion.deleted = true;
    const cases: [string, Promise<Response>, RegExp][] = [
      ['github ping', sign('github', ping, { 'x-github-event': 'ping', 'x-github-delivery': randomUUID() }), /^ping/],
      ['bitbucket ping', sign('bitbucket', Buffer.from('{}'), { 'x-event-key': 'diagnostics:ping', 'x-request-uuid': randomUUID() }), /^ping/],
      ['github tag', sign('github', tag, { 'x-github-event': 'push', 'x-github-delivery': randomUUID() }), /^tag push/],
      ['gitlab tag', sign('gitlab', Buffer.from(JSON.stringify(gitlabTag)), { 'x-gitlab-event': 'Tag Push Hook', 'x-gitlab-event-uuid': randomUUID() }), /^tag push/],
      ['other branch', push('forgejo', { commit: freshCommit(), branch: 'feature' }).send(), /^push to branch feature/],
      ['deletion', sign('github', Buffer.from(JSON.stringify(deletion)), { 'x-github-event': 'push', 'x-github-delivery': randomUUID() }), /was deleted/],
      ['bitbucket DC deletion', sign('bitbucket', referencePayload('bitbucket-server-push-branch-delete.json'), { 'x-event-key': 'repo:refs_changed', 'x-request-id': randomUUID() }), /^push to branch feature\/wip/],
    ];
    for (const [name, res, reason] of cases) {
      const r = await res;
      const body = await jsonOf(r);
      expect(r.status, name).toBe(200);
      expect(body, name).toEqual({ status: 'ignored', deliveryId: expect.any(String), reason: expect.stringMatching(reason) });
    }
    expect((await deploymentsOf(app.id)).length).toBe(deploymentsBefore);
  });

  it('answers 400 for a signed body that is not a push payload, appending nothing', async () => {
    const before = await appendedCount();
    const body = Buffer.from('{"ref": 42');
    const res = await send('github', app.id, body, { 'x-github-event': 'push', ...signatureHeaders('github', app.webhookSecret, body) });
    expect(res.status).toBe(400);
    expect(await appendedCount()).toBe(before);
  });

  it('rotating the secret refuses the old one from then on and accepts the new one', async () => {
    const other = await createApp('rotating');
    const rotated = await cp.api(`/api/apps/${other.id}/webhook-secret`, { method: 'POST' });
    expect(rotated.status).toBe(200);
    const { webhookSecret } = await jsonOf(rotated);
    expect(webhookSecret).toMatch(/^[0-9a-f]{64}$/);
    expect(webhookSecret).not.toBe(other.webhookSecret);
    const before = await appendedCount();
    await refused(push('github', { appId: other.id, secret: other.webhookSecret, commit: freshCommit() }).send(), before);
    expect((await push('github', { appId: other.id, secret: webhookSecret, commit: freshCommit() }).send()).status).toBe(202);
    expect((await cp.api(`/api/apps/${other.id}/webhook-secret`, { method: 'POST', token: null })).status).toBe(401);
    expect((await cp.api(`/api/apps/${randomUUID()}/webhook-secret`, { method: 'POST' })).status).toBe(404);
  });

  it('follows the app’s branch when it changes, and ignores pushes for an image app', async () => {
    const moving = await createApp('moving');
    const patched = await cp.api(`/api/apps/${moving.id}`, { method: 'PATCH', json: { source: { type: 'git', repoUrl: REPO, branch: 'release' } } });
    expect(patched.status).toBe(200);
    const toMain = await push('github', { appId: moving.id, secret: moving.webhookSecret, commit: freshCommit() }).send();
    expect(await jsonOf(toMain)).toMatchObject({ status: 'ignored', reason: 'push to branch main; only pushes to branch release deploy' });
    const toRelease = await push('github', { appId: moving.id, secret: moving.webhookSecret, commit: freshCommit(), branch: 'release' }).send();
    expect(toRelease.status).toBe(202);

    await cp.api(`/api/apps/${moving.id}`, { method: 'PATCH', json: { source: { type: 'image', image: 'nginx:1.27' } } });
    const toImage = await push('github', { appId: moving.id, secret: moving.webhookSecret, commit: freshCommit(), branch: 'release' }).send();
    expect(toImage.status).toBe(200);
    expect(await jsonOf(toImage)).toMatchObject({ status: 'ignored', reason: 'the app deploys an image, not a git branch' });
  });

  it('a deleted app’s webhook is refused like any unknown app', async () => {
    const gone = await createApp('gone');
    expect((await cp.api(`/api/apps/${gone.id}`, { method: 'DELETE' })).status).toBe(204);
    const before = await appendedCount();
    await refused(push('github', { appId: gone.id, secret: gone.webhookSecret, commit: freshCommit() }).send(), before);
  });

  it('answers 413 past 5 MiB, from Content-Length or while streaming, without reading the rest', async () => {
    const big = await send('github', app.id, Buffer.alloc(5 * 1024 * 1024 + 1, 0x20), { 'x-github-event': 'push' });
    expect(big.status).toBe(413);
    expect((await jsonOf(big)).message).toBe('the webhook body is larger than 5 MiB');

    // Chunked, 64 MiB offered: the answer comes while the client is still sending; the rest is never read into memory.
    const url = new URL(`${cp.url}/api/webhooks/github/${app.id}`);
    const result = await new Promise<{ status: number; sent: number }>((resolve, reject) => {
      let sent = 0;
      let done = false;
      const req = http.request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { 'content-type': 'application/json', 'x-github-event': 'push' } });
      req.on('response', (res) => {
        done = true;
        res.resume();
        resolve({ status: res.statusCode ?? 0, sent });
        req.destroy();
      });
      req.on('error', (err) => (done ? undefined : reject(err)));
      const chunk = Buffer.alloc(256 * 1024, 0x20);
      const pump = () => {
        while (!done && sent < 64 * 1024 * 1024) {
          sent += chunk.length;
          if (!req.write(chunk)) return void req.once('drain', pump);
        }
        if (!done) req.end();
      };
      pump();
    });
    expect(result.status).toBe(413);
    expect(result.sent).toBeLessThan(64 * 1024 * 1024);
  });
});
