import fc from 'fast-check';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AppRoute } from './routes';
import { buildHostRule, etagOf, isSafeRuleHost, renderProxyConfig, renderWorkerConfig, safeRouterName } from './traefik-config';
import { traefikSchemaErrors } from './traefik-schema.testing';

const W_DE1 = '11111111-0000-4000-8000-000000000001';
const W_DE2 = '11111111-0000-4000-8000-000000000002';
const W_US = '11111111-0000-4000-8000-000000000003';
const W_NONE = '11111111-0000-4000-8000-000000000004';

const route = (appName: string, zone: string | null, workerId: string, hostPort: number, advertiseIp: string | null, domains: string[] = []): AppRoute => ({
  appId: `22222222-0000-4000-8000-${String(hostPort).padStart(12, '0')}`,
  appName,
  zone,
  workerId,
  hostPort,
  advertiseIp,
  domains,
});

/** A fleet: two zones and an unzoned worker, several apps each, custom domains on some (one IDN). */
const FLEET: AppRoute[] = [
  route('shop', 'de', W_DE1, 32001, '10.8.0.1', ['shop.example.com', 'www.shop.example.com']),
  route('blog', 'de', W_DE1, 32002, '10.8.0.1', ['xn--bcher-kva.example']),
  route('api', 'de', W_DE2, 32003, '10.8.0.2'),
  route('status', 'us', W_US, 32004, '10.8.0.3', ['status.example.org']),
  route('docs', 'us', W_US, 32005, '10.8.0.3'),
  route('hello', null, W_NONE, 32006, 'fd00::4', ['hello.example.net']),
  route('pending', null, W_NONE, 32007, null, ['pending.example.net']),
];

const GOLDEN = path.join(__dirname, 'golden');
/** Compares with the stored golden body (UPDATE_GOLDEN=1 rewrites it, to be reviewed in the diff). */
function expectGolden(name: string, body: string): void {
  const file = path.join(GOLDEN, name);
  const pretty = `${JSON.stringify(JSON.parse(body), null, 2)}\n`;
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(file, pretty);
  expect(pretty).toBe(readFileSync(file, 'utf8'));
}

describe('renderWorkerConfig (worker Traefik, /v1/traefik/config)', () => {
  it.each([
    ['worker-de1.json', W_DE1],
    ['worker-de2.json', W_DE2],
    ['worker-us.json', W_US],
    ['worker-unzoned.json', W_NONE],
    ['worker-unknown.json', '99999999-0000-4000-8000-000000000000'],
  ])('%s: zone-subdomain routes of the apps on that worker, to 127.0.0.1, valid against the schema', (golden, workerId) => {
    const { body, etag } = renderWorkerConfig(FLEET, workerId, 'berth.example');
    expect(traefikSchemaErrors(body)).toBe('');
    expectGolden(golden, body);
    expect(etag).toBe(etagOf(body));
    expect(etag).toMatch(/^"[0-9a-f]{64}"$/);
  });

  it('given: the same routes in another order / then: the same bytes and ETag', () => {
    const reversed = renderWorkerConfig([...FLEET].reverse(), W_DE1, 'berth.example');
    expect(reversed).toEqual(renderWorkerConfig(FLEET, W_DE1, 'berth.example'));
  });

  it('an empty configuration is valid against the schema', () => {
    const { body } = renderWorkerConfig([], W_DE1, 'berth.example');
    expect(body).toBe('{"http":{"routers":{},"services":{}}}');
    expect(traefikSchemaErrors(body)).toBe('');
  });
});

describe('renderProxyConfig (edge Traefik, /v1/traefik/proxy-config)', () => {
  it('verified domains of every app, to the worker advertise address, TLS by the resolver, valid against the schema', () => {
    const { body } = renderProxyConfig(FLEET, 'letsencrypt');
    expect(traefikSchemaErrors(body)).toBe('');
    expectGolden('proxy.json', body);
    // An app whose worker never told its address is left out rather than routed nowhere.
    expect(body).not.toContain('pending.example.net');
  });

  it('an empty configuration is valid against the schema', () => {
    const { body } = renderProxyConfig([], 'letsencrypt');
    expect(traefikSchemaErrors(body)).toBe('');
    expect(renderProxyConfig(FLEET.map((r) => ({ ...r, domains: [] })), 'letsencrypt').body).toBe(body);
  });

  it('the schema catches a broken body (the check can fail)', () => {
    expect(traefikSchemaErrors('{"http":{"routers":{"a":{"rule":1}}}}')).not.toBe('');
  });
});

describe('buildHostRule', () => {
  it('joins hosts with ||, deduplicated and sorted', () => {
    expect(buildHostRule(['b.example.com', 'a.example.com', 'b.example.com'])).toBe('Host(`a.example.com`) || Host(`b.example.com`)');
  });

  it.each([['a.com`) || Host(`b.com'], ['A.com'], ['a.com.'], ['*.a.com'], ['пример.рф'], ['']])('refuses %j', (host) => {
    expect(() => buildHostRule([host])).toThrow(/refusing/);
  });

  it('refuses an empty list', () => {
    expect(() => buildHostRule([])).toThrow(/at least one host/);
  });
});

describe('safeRouterName', () => {
  it('keeps a DNS label as it is and escapes everything else', () => {
    expect(safeRouterName('shop')).toBe('shop');
    expect(safeRouterName('a.b')).toBe('a_2e_b');
    expect(safeRouterName('Ä@x')).toBe('_c4__40_x');
  });

  it('names that collide after naive sanitising stay distinct (property)', () => {
    const collidingAlphabet = fc.constantFrom(...'aA-_.@ /é1'.split(''));
    fc.assert(
      fc.property(fc.stringOf(collidingAlphabet, { maxLength: 12 }), fc.stringOf(collidingAlphabet, { maxLength: 12 }), (a, b) => {
        fc.pre(a !== b);
        expect(safeRouterName(a)).not.toBe(safeRouterName(b));
      }),
      { numRuns: 5000 },
    );
    fc.assert(
      fc.property(fc.fullUnicodeString(), (s) => {
        expect(safeRouterName(s)).toMatch(/^[a-z0-9_-]+$/);
      }),
    );
  });
});

describe('isSafeRuleHost', () => {
  const REFERENCE = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$/;
  it('agrees with the RFC 1123 expression on any string (property)', () => {
    const alphabet = fc.constantFrom(...'ab9-.`A_ '.split(''));
    fc.assert(
      fc.property(fc.oneof(fc.stringOf(alphabet, { maxLength: 80 }), fc.domain(), fc.string()), (s) => {
        expect(isSafeRuleHost(s)).toBe(REFERENCE.test(s));
      }),
      { numRuns: 5000 },
    );
    const label = 'a'.repeat(63);
    for (const s of [`${label}.com`, `${label}a.com`, `${label}.${label}.${label}.${'b'.repeat(61)}`, `${label}.${label}.${label}.${'b'.repeat(62)}`]) {
      expect(isSafeRuleHost(s)).toBe(REFERENCE.test(s));
    }
  });
});
