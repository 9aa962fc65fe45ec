/**
 * Real traffic through a real proxy: the control plane and an agent with BERTH_PROXY=caddy as real
 * processes, Debian's Caddy on free 127.0.0.1 ports (internal TLS), a real Docker Engine running the
 * app. A request with the app's Host header reaches it through Caddy; a redeploy under continuous
 * requests through Caddy drops none; deleting the app removes its route.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBerth, type Berth } from '../support/berth';
import { hasCaddy, startCaddy, viaCaddy, viaCaddyTls, type TestCaddy } from '../support/caddy';
import { docker, ensureBusyboxImage, removeAppImages, requireDockerOrSkip } from '../support/docker';
import { createAppRepo, pushCommit, type AppRepo } from '../support/git-fixture';
import { buildDist, eventually } from '../support/processes';

const hasDocker = requireDockerOrSkip();

describe.skipIf(!hasDocker || !hasCaddy())('routing through Caddy end to end', { timeout: 240_000 }, () => {
  let berth: Berth;
  let caddy: TestCaddy;
  let repo: AppRepo;
  let appId: string;
  const unique = `berth-caddy-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
  const host = 'hello-caddy.localhost';

  beforeAll(async () => {
    buildDist();
    await ensureBusyboxImage();
    caddy = await startCaddy();
    berth = await startBerth({
      agentEnv: {
        BERTH_HEALTH_CHECK_DEADLINE_MS: '6000',
        BERTH_PROXY: 'caddy',
        BERTH_CADDY_ADMIN_URL: caddy.adminUrl,
        BERTH_CADDY_TLS: 'internal',
        BERTH_CADDY_HTTP_LISTEN: caddy.httpListen,
        BERTH_CADDY_HTTPS_LISTEN: caddy.httpsListen,
      },
    });
    repo = await createAppRepo({ message: `${unique} version one` });
  }, 180_000);

  afterAll(async () => {
    await berth?.close();
    if (appId) await removeAppImages(appId).catch(() => undefined);
    await repo?.remove();
    await caddy?.stop();
  });

  it('a request with the app\'s Host header reaches the app through Caddy (HTTP and HTTPS)', async () => {
    const created = await berth.api('/api/apps', { json: { name: 'hello-caddy', source: { type: 'git', repoUrl: repo.url, branch: 'main' }, port: 8080, memoryMb: 64 } });
    expect(created.status).toBe(201);
    appId = created.body.id;
    const requested = await berth.api(`/api/apps/${appId}/deployments`, { method: 'POST' });
    const done = await berth.waitDeployment(requested.body.id);
    expect(done.status, `${done.reason}\n${berth.agent.log().slice(-3000)}`).toBe('succeeded');

    const res = await eventually('Caddy to route the app', async () => {
      const r = await viaCaddy(caddy, host).catch(() => undefined);
      return r?.status === 200 ? r : undefined;
    }, 10_000, 50);
    expect(res.body).toContain(`${unique} version one`);
    const tls = await eventually('Caddy to serve it over TLS', async () => viaCaddyTls(caddy, host).catch(() => undefined), 20_000, 200);
    expect(tls.body).toContain(`${unique} version one`);
    expect((await viaCaddy(caddy, 'other.localhost')).status).toBe(404);
  });

  it('a redeploy under continuous requests through Caddy: zero failed requests, then the new version', async () => {
    const old = await docker.listContainers({ filters: { label: [`berth.app=${appId}`] } });
    expect(old).toHaveLength(1);
    await pushCommit(repo, `${unique} version two`);
    const requested = await berth.api(`/api/apps/${appId}/deployments`, { method: 'POST' });

    let stop = false;
    const failures: string[] = [];
    const seen = { one: 0, two: 0 };
    // Caddy 2.6 reloads onto new SO_REUSEPORT sockets: a connection still queued on the old socket when
    // it closes is reset before any byte of an answer. A browser sends such a request again on a new
    // connection, and so does this client, once; a reset that comes back, and any answer that is not
    // the app's page (a 502 while no container serves, a 404 while no route exists), is a failure.
    let resets = 0;
    const get = async () => {
      try {
        return await viaCaddy(caddy, host);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ECONNRESET') throw err;
        resets++;
        return viaCaddy(caddy, host);
      }
    };
    const client = (async () => {
      while (!stop) {
        try {
          const r = await get();
          if (r.status !== 200) failures.push(`HTTP ${r.status}: ${r.body.slice(0, 200)}`);
          else if (r.body.includes('version two')) seen.two++;
          else if (r.body.includes('version one')) seen.one++;
          else failures.push(`unexpected body ${r.body.slice(0, 200)}`);
        } catch (err) {
          failures.push(String(err));
        }
      }
    })();
    const done = await berth.waitDeployment(requested.body.id);
    expect(done.status, done.reason).toBe('succeeded');
    // Keep the client going past the old container's drain and stop: the route must have moved first.
    await eventually('the old container to be removed', async () => {
      const left = await docker.listContainers({ all: true, filters: { id: [old[0].Id] } });
      return left.length === 0 ? true : undefined;
    }, 60_000, 250);
    await new Promise((r) => setTimeout(r, 500));
    stop = true;
    await client;
    expect(failures).toEqual([]);
    expect(resets, 'resets are Caddy reloading, a handful at most').toBeLessThanOrEqual(3);
    expect(seen.one).toBeGreaterThan(0);
    expect(seen.two).toBeGreaterThan(0);
    expect((await viaCaddy(caddy, host)).body).toContain(`${unique} version two`);
  });

  it('an agent restart gets its routes again after hello, even into a Caddy that lost them', async () => {
    await berth.restartAgent('SIGTERM', async () => {
      await caddy.restart();
      expect((await viaCaddy(caddy, host).catch(() => ({ status: 0 }))).status).not.toBe(200);
    });
    const back = await eventually('the routes to come back through Caddy', async () => {
      const r = await viaCaddy(caddy, host).catch(() => undefined);
      return r?.status === 200 ? r : undefined;
    }, 30_000, 100);
    expect(back.body).toContain(`${unique} version two`);
  });

  it('deleting the app removes its route', async () => {
    expect((await berth.api(`/api/apps/${appId}`, { method: 'DELETE' })).status).toBe(204);
    await eventually('the route to go', async () => ((await viaCaddy(caddy, host)).status === 404 ? true : undefined), 10_000, 50);
  });
});
