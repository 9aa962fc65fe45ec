import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './support/database';
import { startControlPlane, type RunningControlPlane } from './support/control-plane';

describe('control plane basics', () => {
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

  it('answers /healthz without a token', async () => {
    const res = await cp.api('/healthz', { token: null });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok', database: 'ok' });
  });

  it('serves Prometheus metrics', async () => {
    const res = await cp.api('/metrics', { token: null });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('berth_process_resident_memory_bytes');
  });

  it('serves the OpenAPI document and Swagger UI', async () => {
    const doc = (await (await cp.api('/api/docs-json', { token: null })).json()) as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toContain('/api/events');
    const ui = await cp.api('/api/docs', { token: null });
    expect(ui.status).toBe(200);
    expect(await ui.text()).toContain('swagger');
  });

  it.each([
    ['no header', undefined, /missing Authorization/],
    ['a wrong token', 'Bearer bat_not_a_real_token', /not valid/],
    ['a malformed header', 'Token abc', /Bearer/],
  ])('refuses /api with %s (401, stable body)', async (_, header, message) => {
    const res = await cp.api('/api/events', { token: null, headers: header ? { authorization: header } : {} });
    expect(res.status).toBe(401);
    const body = (await res.json()) as { message: string };
    expect(body).toMatchObject({ statusCode: 401, error: 'Unauthorized' });
    expect(body.message).toMatch(message);
  });

  it('rejects a garbage events cursor with 400 and a message', async () => {
    const res = await cp.api('/api/events?after=not-a-cursor');
    expect(res.status).toBe(400);
    expect(((await res.json()) as { statusCode: number }).statusCode).toBe(400);
  });

  it('rejects unknown query parameters and out-of-range limits', async () => {
    expect((await cp.api('/api/events?limit=0')).status).toBe(400);
    expect((await cp.api('/api/events?bogus=1')).status).toBe(400);
  });

  it('answers unknown routes with 404 in the same shape', async () => {
    const res = await cp.api('/api/nope');
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ statusCode: 404, error: 'Not Found' });
  });

  it('records the seeded admin token in the audit trail, hashed', async () => {
    const body = (await (await cp.api('/api/events')).json()) as { events: { type: string; data: { tokenHash: string } }[] };
    const issued = body.events.find((e) => e.type === 'TokenIssued');
    expect(issued).toBeDefined();
    expect(JSON.stringify(issued)).not.toContain('bat_test_admin_token');
    expect(issued!.data.tokenHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('says what is wrong with a body that is not JSON, or not valid JSON', async () => {
    const notJson = await cp.api('/api/workers', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'name=w1' });
    expect(notJson.status).toBe(415);
    expect(((await notJson.json()) as { message: string }).message).toMatch(/application\/json/);
    const broken = await cp.api('/api/workers', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name": ' });
    expect(broken.status).toBe(400);
    expect(((await broken.json()) as { message: string }).message).toMatch(/not valid JSON/);
    const events = (await (await cp.api('/api/events')).json()) as { events: { type: string }[] };
    expect(events.events.map((e) => e.type)).toEqual(['TokenIssued']);
  });
});
