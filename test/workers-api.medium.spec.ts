import type { WorkerView } from '@berth/contracts';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlPlane, type RunningControlPlane } from './support/control-plane';
import { createTestDatabase, type TestDatabase } from './support/database';
import { countEvents } from './workers-agent-client';

describe('workers API (real PostgreSQL)', () => {
  let db: TestDatabase;
  let cp: RunningControlPlane;

  beforeAll(async () => {
    db = await createTestDatabase();
    cp = await startControlPlane(db.url);
  });
  afterAll(async () => {
    await cp?.close();
    await db?.drop();
  });

  it('registers a worker, shows its token once and stores only the hash', async () => {
    const res = await cp.api('/api/workers', { method: 'POST', json: { name: 'edge-1', zone: 'de' } });
    expect(res.status).toBe(201);
    const created = (await res.json()) as { id: string; token: string };
    expect(Object.keys(created).sort()).toEqual(['id', 'token']);
    expect(created.token).toMatch(/^bwt_[A-Za-z0-9_-]{20,}$/);

    const events = (await (await cp.api('/api/events')).json()) as { events: { type: string; data: unknown }[] };
    const registered = events.events.filter((e) => e.type === 'WorkerRegistered');
    expect(registered).toHaveLength(1);
    expect(registered[0].data).toEqual({
      workerId: created.id,
      name: 'edge-1',
      zone: 'de',
      tokenHash: createHash('sha256').update(created.token).digest('hex'),
    });
    expect(JSON.stringify(events)).not.toContain(created.token);

    const one = await cp.api(`/api/workers/${created.id}`);
    expect(one.status).toBe(200);
    const view = (await one.json()) as WorkerView;
    expect(view).toEqual({ id: created.id, name: 'edge-1', zone: 'de', status: 'registered', allocatedMemoryMb: 0, apps: [], createdAt: expect.any(String) });
    expect(JSON.stringify(view)).not.toContain('token');
  });

  it('lists workers by name, a zone only where one was given', async () => {
    await cp.api('/api/workers', { method: 'POST', json: { name: 'alpha' } });
    const list = (await (await cp.api('/api/workers')).json()) as WorkerView[];
    expect(list.map((w) => w.name)).toEqual(['alpha', 'edge-1']);
    expect(list[0]).not.toHaveProperty('zone');
    expect(list[0].status).toBe('registered');
  });

  it.each([
    ['a name that is not a DNS label', { name: 'Edge_1' }, /name must be a DNS label/],
    ['a name too long for a DNS label', { name: 'a'.repeat(64) }, /name must be a DNS label/],
    ['a name ending in a hyphen', { name: 'edge-' }, /name must be a DNS label/],
    ['no name', {}, /name/],
    ['a number for a name', { name: 7 }, /name/],
    ['a zone that is not a DNS label', { name: 'ok', zone: 'eu west' }, /zone must be a DNS label/],
    ['an unknown field', { name: 'ok', capacity: 1024 }, /property capacity should not exist/],
  ])('refuses %s with 400 and appends nothing', async (_, body, message) => {
    const before = await countEvents(db.url);
    const res = await cp.api('/api/workers', { method: 'POST', json: body });
    expect(res.status).toBe(400);
    const err = (await res.json()) as { message: string };
    expect(err).toMatchObject({ statusCode: 400, error: 'Bad Request' });
    expect(err.message).toMatch(message);
    expect(await countEvents(db.url)).toBe(before);
  });

  it('refuses a second worker with the same name (409), appending nothing', async () => {
    const before = await countEvents(db.url);
    const res = await cp.api('/api/workers', { method: 'POST', json: { name: 'alpha' } });
    expect(res.status).toBe(409);
    expect(((await res.json()) as { message: string }).message).toMatch(/a worker named alpha already exists/);
    expect(await countEvents(db.url)).toBe(before);
  });

  it('answers 404 for an unknown worker and 400 for an id that is not a UUID', async () => {
    const missing = await cp.api('/api/workers/6f1c1a52-3b1e-4d7a-9a52-2f3c1b7d9e01');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ statusCode: 404, error: 'Not Found', message: 'worker 6f1c1a52-3b1e-4d7a-9a52-2f3c1b7d9e01 does not exist' });
    const bad = await cp.api('/api/workers/not-a-uuid');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toMatch(/worker id must be a UUID/);
  });

  it('needs a token', async () => {
    expect((await cp.api('/api/workers', { token: null })).status).toBe(401);
    expect((await cp.api('/api/workers', { method: 'POST', json: { name: 'x' }, token: null })).status).toBe(401);
  });

  it('documents the routes in OpenAPI', async () => {
    const doc = (await (await cp.api('/api/docs-json', { token: null })).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/workers', '/api/workers/{id}']));
  });
});
