import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './support/database';
import { startControlPlane, type RunningControlPlane } from './support/control-plane';

const gitApp = (name: string) => ({
  name,
  source: { type: 'git', repoUrl: 'https://codeberg.org/acme/web.git', branch: 'main', dockerfilePath: 'docker/Dockerfile' },
  port: 8080,
});

/** Response bodies in these tests are checked by value, so they are read untyped. */
const jsonOf = (res: Response): Promise<any> => res.json();

describe('apps API', () => {
  let db: TestDatabase;
  let cp: RunningControlPlane;
  let pg: Client;

  const eventCount = async () => Number((await pg.query<{ n: string }>('SELECT count(*) AS n FROM events')).rows[0].n);
  const post = (json: unknown) => cp.api('/api/apps', { method: 'POST', json });

  /** Sends a request that must fail with `status` and append nothing; returns the error body. */
  async function refused(send: () => Promise<Response>, status: number): Promise<{ statusCode: number; error: string; message: string }> {
    const before = await eventCount();
    const res = await send();
    const body = await jsonOf(res);
    expect(res.status, JSON.stringify(body)).toBe(status);
    expect(body).toEqual({ statusCode: status, error: expect.any(String), message: expect.any(String) });
    expect(await eventCount()).toBe(before);
    return body;
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    cp = await startControlPlane(db.url);
    pg = new Client({ connectionString: db.url });
    await pg.connect();
  });
  afterAll(async () => {
    await pg?.end();
    await cp?.close();
    await db?.drop();
  });

  it('creates, lists, reads, updates and deletes an app', async () => {
    const spec = { ...gitApp('web'), zone: 'de', env: { LOG_LEVEL: 'info' }, healthCheckPath: '/healthz', memoryMb: 512, cpus: 0.5 };
    const res = await post(spec);
    expect(res.status).toBe(201);
    const { webhookSecret, ...created } = await jsonOf(res);
    expect(created).toEqual({ ...spec, id: expect.any(String), status: 'created', endpoints: [], webhooks: expect.any(Object), createdAt: expect.any(String), updatedAt: expect.any(String) });
    expect(webhookSecret).toMatch(/^[0-9a-f]{64}$/);

    expect(await jsonOf(await cp.api('/api/apps'))).toEqual([created]);
    expect(await jsonOf(await cp.api(`/api/apps/${created.id}`))).toEqual(created);

    const patched = await cp.api(`/api/apps/${created.id}`, { method: 'PATCH', json: { port: 9090, env: null, source: { type: 'image', image: 'nginx:1.27' } } });
    expect(patched.status).toBe(200);
    const updated = await jsonOf(patched);
    const { env: _env, ...withoutEnv } = created;
    expect(updated).toEqual({ ...withoutEnv, port: 9090, source: { type: 'image', image: 'nginx:1.27' }, updatedAt: expect.any(String) });
    expect(await jsonOf(await cp.api(`/api/apps/${created.id}`))).toEqual(updated);

    // The name may be sent unchanged; a patch that changes nothing appends nothing.
    const before = await eventCount();
    expect((await cp.api(`/api/apps/${created.id}`, { method: 'PATCH', json: { name: 'web', port: 9090 } })).status).toBe(200);
    expect(await eventCount()).toBe(before);

    expect((await cp.api(`/api/apps/${created.id}`, { method: 'DELETE' })).status).toBe(204);
    await refused(() => cp.api(`/api/apps/${created.id}`), 404);
    await refused(() => cp.api(`/api/apps/${created.id}`, { method: 'DELETE' }), 404);
    expect(await jsonOf(await cp.api('/api/apps'))).toEqual([]);

    // Deleting released the name.
    const again = await post(gitApp('web'));
    expect(again.status).toBe(201);
    expect((await jsonOf(again)).id).not.toBe(created.id);
  });

  it('records create and delete as atomic pairs of events', async () => {
    const app = await jsonOf(await post(gitApp('pairs')));
    await cp.api(`/api/apps/${app.id}`, { method: 'DELETE' });
    const { rows } = await pg.query<{ stream_id: string; type: string }>(
      `SELECT stream_id, type FROM events WHERE stream_id IN ($1, $2) ORDER BY global_position`,
      [`app-${app.id}`, 'appname-pairs'],
    );
    expect(rows).toEqual([
      { stream_id: 'appname-pairs', type: 'AppNameClaimed' },
      { stream_id: `app-${app.id}`, type: 'AppCreated' },
      { stream_id: `app-${app.id}`, type: 'WebhookSecretSet' },
      { stream_id: `app-${app.id}`, type: 'AppDeleted' },
      { stream_id: 'appname-pairs', type: 'AppNameReleased' },
    ]);
  });

  it('refuses a name that is taken, with 409 and nothing appended', async () => {
    expect((await post(gitApp('taken'))).status).toBe(201);
    const body = await refused(() => post({ ...gitApp('taken'), port: 1 }), 409);
    expect(body.message).toBe('an app named taken already exists');
  });

  it('lets exactly one of two concurrent creates of the same name win', async () => {
    const before = await eventCount();
    const results = await Promise.all([post(gitApp('race')), post(gitApp('race')), post(gitApp('race'))]);
    expect(results.map((r) => r.status).sort()).toEqual([201, 409, 409]);
    expect(await eventCount()).toBe(before + 3); // AppNameClaimed, AppCreated, WebhookSecretSet
    const named = ((await jsonOf(await cp.api('/api/apps'))) as { name: string }[]).filter((a) => a.name === 'race');
    expect(named).toHaveLength(1);
  });

  it('refuses renaming, saying so', async () => {
    const app = await jsonOf(await post(gitApp('fixed')));
    const body = await refused(() => cp.api(`/api/apps/${app.id}`, { method: 'PATCH', json: { name: 'other' } }), 400);
    expect(body.message).toMatch(/name cannot change/);
    await refused(() => cp.api(`/api/apps/${app.id}`, { method: 'PATCH', json: { port: null } }), 400);
    await refused(() => cp.api(`/api/apps/${app.id}`, { method: 'PATCH', json: { bogus: 1 } }), 400);
    await refused(() => cp.api(`/api/apps/${app.id}`, { method: 'PATCH', json: { source: { type: 'image', image: 'x', branch: 'main' } } }), 400);
    await refused(() => cp.api('/api/apps/00000000-0000-4000-8000-000000000000', { method: 'PATCH', json: { port: 1 } }), 404);
  });

  it('refuses malformed JSON and non-object bodies', async () => {
    const body = await refused(() => cp.api('/api/apps', { method: 'POST', body: '{"name": "x",', headers: { 'content-type': 'application/json' } }), 400);
    expect(body.message).toMatch(/JSON/);
    await refused(() => cp.api('/api/apps', { method: 'POST', json: [gitApp('arr')] }), 400);
    await refused(() => cp.api('/api/apps', { method: 'POST' }), 400);
  });

  it.each([
    ['an unknown top-level field', { ...gitApp('u1'), replicas: 3 }, /replicas/],
    ['an unknown field inside a git source', { ...gitApp('u2'), source: { ...gitApp('u2').source, depth: 1 } }, /source\.depth/],
    ['an unknown field inside an image source', { ...gitApp('u3'), source: { type: 'image', image: 'nginx', repoUrl: 'https://x.org/a' } }, /repoUrl/],
    ['an unknown source type', { ...gitApp('u4'), source: { type: 'zip', url: 'https://x.org/a.zip' } }, /source\.type/],
    ['a source without type', { ...gitApp('u5'), source: { image: 'nginx' } }, /source\.type/],
    ['a source that is a string', { ...gitApp('u6'), source: 'nginx' }, /source/],
    ['a missing source', { name: 'u7', port: 80 }, /source/],
    ['an uppercase name', gitApp('Web'), /name must be a DNS label/],
    ['a name with an underscore', gitApp('my_app'), /name/],
    ['a name starting with a dash', gitApp('-web'), /name/],
    ['a name of 64 characters', gitApp('a'.repeat(64)), /name/],
    ['an empty name', gitApp(''), /name/],
    ['a numeric name', { ...gitApp('x'), name: 42 }, /name/],
    ['an uppercase zone', { ...gitApp('z1'), zone: 'DE' }, /zone/],
    ['an ftp repo URL', { ...gitApp('g1'), source: { type: 'git', repoUrl: 'ftp://x.org/a.git', branch: 'main' } }, /repoUrl/],
    ['a repo URL that is not a URL', { ...gitApp('g2'), source: { type: 'git', repoUrl: 'not a url', branch: 'main' } }, /repoUrl/],
    ['a branch with ..', { ...gitApp('g3'), source: { type: 'git', repoUrl: 'git@github.com:a/b.git', branch: 'a..b' } }, /branch/],
    ['a dockerfilePath escaping the repo', { ...gitApp('g4'), source: { ...gitApp('g4').source, dockerfilePath: '../Dockerfile' } }, /dockerfilePath/],
    ['an absolute dockerfilePath', { ...gitApp('g5'), source: { ...gitApp('g5').source, dockerfilePath: '/etc/passwd' } }, /dockerfilePath/],
    ['a bad image reference', { ...gitApp('i1'), source: { type: 'image', image: 'Nginx:latest' } }, /image/],
    ['port 0', { ...gitApp('p1'), port: 0 }, /port/],
    ['port 65536', { ...gitApp('p2'), port: 65536 }, /port/],
    ['a string port', { ...gitApp('p3'), port: '80' }, /port/],
    ['memory below 16 MB', { ...gitApp('m1'), memoryMb: 8 }, /memoryMb/],
    ['cpus of 0', { ...gitApp('c1'), cpus: 0 }, /cpus/],
    ['an env key that is not an identifier', { ...gitApp('e1'), env: { '1A': 'x' } }, /env/],
    ['a non-string env value', { ...gitApp('e2'), env: { A: 1 } }, /env/],
    ['a health check path without /', { ...gitApp('h1'), healthCheckPath: 'healthz' }, /healthCheckPath/],
  ])('refuses %s with 400 and nothing appended', async (_, json, message) => {
    const body = await refused(() => post(json), 400);
    expect(body.message).toMatch(message);
  });

  it.each([
    ['no token', null, /missing Authorization/],
    ['a wrong token', 'bat_wrong', /not valid/],
  ])('refuses %s with 401 and nothing appended', async (_, token, message) => {
    const body = await refused(() => cp.api('/api/apps', { method: 'POST', json: gitApp('anon'), token }), 401);
    expect(body.message).toMatch(message);
    await refused(() => cp.api('/api/apps', { token }), 401);
  });

  it('answers 404 for ids that name no app', async () => {
    await refused(() => cp.api('/api/apps/not-a-uuid'), 404);
    await refused(() => cp.api('/api/apps/00000000-0000-4000-8000-000000000000'), 404);
  });

  it('lists its routes in the OpenAPI document', async () => {
    const doc = await jsonOf(await cp.api('/api/docs-json', { token: null }));
    expect(Object.keys(doc.paths['/api/apps'])).toEqual(expect.arrayContaining(['get', 'post']));
    expect(Object.keys(doc.paths['/api/apps/{id}'])).toEqual(expect.arrayContaining(['get', 'patch', 'delete']));
    expect(Object.keys(doc.components.schemas)).toEqual(expect.arrayContaining(['CreateAppDto', 'GitSourceDto', 'ImageSourceDto', 'AppViewDto']));
  });
});
