/**
 * `container:exited` from an agent (socket.io client against the real control plane, real PostgreSQL):
 * each exit of a deployment's container becomes one ContainerExited on the deployment's stream, however
 * often it is sent; anything else is refused with a 4xx ack and nothing appended.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlPlane, type RunningControlPlane } from './support/control-plane';
import { createTestDatabase, type TestDatabase } from './support/database';
import { runApp, type RunningApp } from './telemetry-client';
import { countEvents, send } from './workers-agent-client';

describe('container:exited (real PostgreSQL, socket.io-client)', () => {
  let db: TestDatabase;
  let cp: RunningControlPlane;
  let app: RunningApp;
  let other: RunningApp;
  const exit = (over: Record<string, unknown> = {}) => ({ deploymentId: app.deploymentId, appId: app.appId, containerId: app.containerId, exitCode: 3, at: '2026-01-01T10:00:00.000Z', ...over });

  beforeAll(async () => {
    db = await createTestDatabase();
    cp = await startControlPlane(db.url);
    app = await runApp(cp, 'exits-app');
    other = await runApp(cp, 'exits-other');
  });
  afterAll(async () => {
    app?.agent.close();
    other?.agent.close();
    await cp?.close();
    await db?.drop();
  });

  it('records an exit once, however often it is sent; a later exit is another event', async () => {
    const before = await countEvents(db.url, 'ContainerExited');
    expect(await send(app.agent, 'container:exited', exit())).toEqual({ ok: true });
    expect(await send(app.agent, 'container:exited', exit())).toEqual({ ok: true });
    expect(await countEvents(db.url, 'ContainerExited')).toBe(before + 1);
    expect(await send(app.agent, 'container:exited', exit({ at: '2026-01-01T10:00:00.250Z', exitCode: 137 }))).toEqual({ ok: true });
    expect(await countEvents(db.url, 'ContainerExited')).toBe(before + 2);
    const page = (await (await cp.api(`/api/events?limit=1000`)).json()) as { events: { type: string; streamId: string; data: unknown }[] };
    expect(page.events.filter((e) => e.type === 'ContainerExited').map((e) => [e.streamId, e.data])).toEqual([
      [`deployment-${app.deploymentId}`, exit()],
      [`deployment-${app.deploymentId}`, exit({ at: '2026-01-01T10:00:00.250Z', exitCode: 137 })],
    ]);
    // The deployment's outcome stays as it was.
    expect(((await (await cp.api(`/api/deployments/${app.deploymentId}`)).json()) as { status: string }).status).toBe('succeeded');
  });

  it.each([
    ['another container', () => exit({ containerId: 'c-somebody-else' })],
    ['a deployment that does not exist', () => exit({ deploymentId: randomUUID() })],
    ['another app', () => exit({ appId: other.appId })],
    ["another worker's deployment", () => exit({ deploymentId: other.deploymentId, appId: other.appId, containerId: other.containerId })],
  ])('refuses an exit of %s with a 404 ack and appends nothing', async (_, payload) => {
    const before = await countEvents(db.url);
    const ack = await send(app.agent, 'container:exited', payload());
    expect(ack).toMatchObject({ ok: false, error: { statusCode: 404 } });
    expect(await countEvents(db.url)).toBe(before);
  });

  it.each([
    [null, /container:exited message must be an object/],
    [{ deploymentId: 'nope' }, /deploymentId must be a UUID/],
    [{ exitCode: -1 }, /exitCode must be a whole number from 0 to 255/],
    [{ exitCode: '3' }, /exitCode must be a whole number/],
    [{ at: 'yesterday' }, /at must be an ISO 8601 date-time/],
    [{ containerId: '' }, /containerId must not be empty/],
  ])('refuses a bad payload (%j) with a 400 ack and appends nothing', async (over, message) => {
    const before = await countEvents(db.url);
    const ack = await send(app.agent, 'container:exited', over === null ? null : exit(over));
    expect(ack).toMatchObject({ ok: false, error: { statusCode: 400 } });
    expect(ack.ok === false && ack.error.message).toMatch(message);
    expect(await countEvents(db.url)).toBe(before);
  });
});
