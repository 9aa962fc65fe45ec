/**
 * Custom domains against real PostgreSQL and a real DNS server (dnsmasq on 127.0.0.1): adding with
 * hostname validation and the claim across apps, verification with the right token, a wrong token and
 * no record, and the periodic re-check unrouting a domain whose record was removed later.
 */
import { EventStore } from '@berth/event-store';
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PeriodicJobs } from '../apps/control-plane/src/common/periodic-jobs';
import { DOMAIN_RECHECK_JOB } from '../apps/control-plane/src/modules/domains/domain-recheck.service';
import { DomainsService } from '../apps/control-plane/src/modules/domains/domains.service';
import { startControlPlane, type RunningControlPlane } from './support/control-plane';
import { createTestDatabase, type TestDatabase } from './support/database';
import { hasDnsmasq, startDnsmasq, type DnsServer } from './support/dnsmasq';
import { eventually } from './support/processes';
import { appendFleet } from './support/routing-fleet';

const ZONE = 'berth-dns.test';
const TOKEN = 'traefik-test-token-dns';

const imageApp = (name: string) => ({ name, source: { type: 'image', image: 'busybox' }, port: 8080 });

describe.skipIf(!hasDnsmasq())('custom domains verified through a real DNS server', () => {
  let db: TestDatabase;
  let cp: RunningControlPlane;
  let dns: DnsServer;
  let pg: Client;
  let appId: string;
  let otherAppId: string;
  const workerId = randomUUID();

  const body = async (res: Response) => JSON.parse(await res.text());
  const eventTypes = async () => (await pg.query<{ type: string }>(`SELECT type FROM events ORDER BY global_position`)).rows.map((r) => r.type);
  const proxyConfig = async () => (await fetch(`${cp.url}/v1/traefik/proxy-config`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
  const add = (id: string, hostname: unknown) => cp.api(`/api/apps/${id}/domains`, { method: 'POST', json: { hostname } });

  beforeAll(async () => {
    dns = await startDnsmasq(ZONE);
    db = await createTestDatabase();
    cp = await startControlPlane(db.url, { dnsServers: [dns.address], traefikToken: TOKEN });
    pg = new Client({ connectionString: db.url });
    await pg.connect();
    appId = (await body(await cp.api('/api/apps', { method: 'POST', json: imageApp('shop') }))).id;
    otherAppId = (await body(await cp.api('/api/apps', { method: 'POST', json: imageApp('blog') }))).id;
    // The app runs on a worker (a deployment succeeded), so a verified domain has somewhere to go.
    await appendFleet(cp.app.get(EventStore), [{ id: workerId, advertiseIp: '10.9.0.1' }], []);
    const { deploymentEvents } = await import('./support/routing-fleet');
    await cp.app.get(EventStore).appendMany([deploymentEvents(appId, { name: 'shop', source: { type: 'image', image: 'busybox' }, port: 8080 }, workerId, 30100)]);
  });
  afterAll(async () => {
    await pg?.end();
    await cp?.close();
    await db?.drop();
    await dns?.stop();
  });

  it('adds a domain: IDNA-normalised, unverified, with the TXT record to create', async () => {
    const res = await add(appId, `Shop.${ZONE}`);
    expect(res.status).toBe(201);
    const domain = await body(res);
    expect(domain).toMatchObject({ hostname: `shop.${ZONE}`, verified: false, verification: { type: 'TXT', name: `_berth-challenge.shop.${ZONE}` } });
    expect(domain.verification.value).toMatch(/^[\w-]{20,}$/);
    const list = await body(await cp.api(`/api/apps/${appId}/domains`));
    expect(list).toEqual([domain]);
  });

  it('refuses a hostile hostname with a message and appends nothing', async () => {
    const before = (await eventTypes()).length;
    for (const [hostname, why] of [
      ['a.com`) || Host(`b.com', /backtick/],
      ['*.example.com', /wildcard/],
      [`${'a'.repeat(64)}.com`, /label of 64/],
      ['\u0430pple.com', /Cyrillic/],
      [42, /hostname must be a string/],
    ] as const) {
      const res = await add(appId, hostname);
      expect(res.status).toBe(400);
      expect((await body(res)).message).toMatch(why);
    }
    expect((await eventTypes()).length).toBe(before);
  });

  it('refuses a hostname another app (or the same app) already holds', async () => {
    const res = await add(otherAppId, `shop.${ZONE}`);
    expect(res.status).toBe(409);
    expect((await body(res)).message).toBe(`the hostname shop.${ZONE} is taken: another app already has it`);
    expect((await add(appId, `SHOP.${ZONE}`)).status).toBe(409);
    expect((await add(randomUUID(), `new.${ZONE}`)).status).toBe(404);
  });

  it('two apps claiming one hostname at the same time: exactly one gets it', async () => {
    const results = await Promise.all([add(appId, `race.${ZONE}`), add(otherAppId, `race.${ZONE}`)]);
    expect(results.map((r) => r.status).sort()).toEqual([201, 409]);
  });

  it('verify: a missing record, then a wrong token, is refused saying what was found; the right token verifies and routes', async () => {
    const [domain] = await body(await cp.api(`/api/apps/${appId}/domains`));
    const verify = () => cp.api(`/api/domains/${domain.id}/verify`, { method: 'POST' });

    const missing = await verify();
    expect(missing.status).toBe(409);
    expect((await body(missing)).message).toMatch(new RegExp(`there is no TXT record _berth-challenge\\.shop\\.${ZONE.replace('.', '\\.')} \\(the name does not exist`));

    await dns.setRecords({ [`_berth-challenge.shop.${ZONE}`]: ['not-the-token'] });
    const wrong = await verify();
    expect(wrong.status).toBe(409);
    expect((await body(wrong)).message).toMatch(/holds "not-the-token", not this domain's token/);
    expect(await eventTypes()).not.toContain('DomainVerified');
    expect(await proxyConfig()).not.toContain(`shop.${ZONE}`);

    await dns.setRecords({ [`_berth-challenge.shop.${ZONE}`]: ['not-the-token', domain.verification.value] });
    const ok = await verify();
    expect(ok.status).toBe(200);
    expect(await body(ok)).toMatchObject({ id: domain.id, verified: true, status: 'verified' });
    expect(await eventTypes()).toContain('DomainVerified');
    await eventually('the edge proxy config to route the domain', async () => ((await proxyConfig()).includes(`Host(\`shop.${ZONE}\`)`) ? true : undefined), 10_000, 20);
  });

  it('the re-check leaves a domain whose record is still there, and unroutes one whose record was removed, saying why', async () => {
    const domains = cp.app.get(DomainsService);
    expect(await domains.recheckVerified()).toEqual({ checked: 1, unrouted: 0 });

    await dns.setRecords({});
    // The periodic job (leader-only) runs the same pass.
    await cp.app.get(PeriodicJobs).runNow(DOMAIN_RECHECK_JOB);
    const domain = await eventually('the domain read model to say unrouted', async () => {
      const [d] = await body(await cp.api(`/api/apps/${appId}/domains`));
      return d.status === 'unrouted' ? d : undefined;
    }, 10_000, 20);
    expect(domain).toMatchObject({ verified: false, status: 'unrouted', reason: expect.stringMatching(/there is no TXT record _berth-challenge\.shop/) });
    const { rows } = await pg.query(`SELECT data FROM events WHERE type = 'DomainUnrouted'`);
    expect(rows[0].data.reason).toMatch(/no TXT record/);
    await eventually('the route to be withdrawn', async () => (!(await proxyConfig()).includes(`shop.${ZONE}`) ? true : undefined), 10_000, 20);
  });

  it('a DNS server that does not answer unroutes nothing', async () => {
    const [domain] = await body(await cp.api(`/api/apps/${appId}/domains`));
    await dns.setRecords({ [`_berth-challenge.shop.${ZONE}`]: [domain.verification.value] });
    expect((await cp.api(`/api/domains/${domain.id}/verify`, { method: 'POST' })).status).toBe(200);
    await dns.stop();
    expect(await cp.app.get(DomainsService).recheckVerified()).toEqual({ checked: 1, unrouted: 0 });
    await dns.setRecords({});
  });

  it('deleting a domain releases its hostname for another app', async () => {
    const [domain] = await body(await cp.api(`/api/apps/${appId}/domains`));
    expect((await cp.api(`/api/domains/${domain.id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await cp.api(`/api/domains/${domain.id}`, { method: 'DELETE' })).status).toBe(404);
    expect((await add(otherAppId, `shop.${ZONE}`)).status).toBe(201);
  });

  it('deleting an app frees its hostnames', async () => {
    const third = (await body(await cp.api('/api/apps', { method: 'POST', json: imageApp('third') }))).id;
    expect((await add(third, `third.${ZONE}`)).status).toBe(201);
    expect((await cp.api(`/api/apps/${third}`, { method: 'DELETE' })).status).toBe(204);
    expect((await add(appId, `third.${ZONE}`)).status).toBe(201);
    expect((await cp.api(`/api/apps/${third}/domains`)).status).toBe(404);
  });
});
