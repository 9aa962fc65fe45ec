import { describe, expect, it } from 'vitest';
import { ConfigError, loadAgentConfig, loadControlPlaneConfig } from './index';

describe('loadControlPlaneConfig', () => {
  it('defaults to the local PostgreSQL and port 8080', () => {
    const c = loadControlPlaneConfig({});
    expect(c.databaseUrl).toBe('postgres://postgres@127.0.0.1:5432/berth');
    expect(c.port).toBe(8080);
  });
  it('names the variable that is wrong', () => {
    expect(() => loadControlPlaneConfig({ BERTH_PORT: 'eighty' })).toThrow(/BERTH_PORT/);
    expect(() => loadControlPlaneConfig({ DATABASE_URL: 'not a url' })).toThrow(ConfigError);
  });
  it('reads the secret key (hex or base64) and the public URL, defaulting to the local port', () => {
    const hex = 'ab'.repeat(32);
    expect(loadControlPlaneConfig({ BERTH_SECRET_KEY: hex }).secretKey?.toString('hex')).toBe(hex);
    expect(loadControlPlaneConfig({ BERTH_SECRET_KEY: Buffer.from(hex, 'hex').toString('base64') }).secretKey?.toString('hex')).toBe(hex);
    expect(loadControlPlaneConfig({}).secretKey).toBeUndefined();
    expect(() => loadControlPlaneConfig({ BERTH_SECRET_KEY: 'too-short' })).toThrow(/BERTH_SECRET_KEY/);
    expect(loadControlPlaneConfig({ BERTH_PORT: '9000' }).publicUrl).toBe('http://127.0.0.1:9000');
    expect(loadControlPlaneConfig({ BERTH_PUBLIC_URL: 'https://berth.example.com/' }).publicUrl).toBe('https://berth.example.com');
  });
});

describe('loadAgentConfig', () => {
  it('requires a worker token', () => {
    expect(() => loadAgentConfig({})).toThrow(/BERTH_WORKER_TOKEN/);
  });
  it('reads zone and advertise address', () => {
    const c = loadAgentConfig({ BERTH_WORKER_TOKEN: 't', BERTH_WORKER_ZONE: 'de', BERTH_WORKER_ADVERTISE_IP: '127.0.0.1' });
    expect(c.zone).toBe('de');
    expect(c.healthCheckDeadlineMs).toBe(60_000);
  });
});

describe('routing configuration', () => {
  it('control plane: Traefik token, certificate resolver, DNS servers and re-check interval, with defaults', () => {
    const d = loadControlPlaneConfig({});
    expect(d.traefikToken).toBeUndefined();
    expect(d.traefikCertResolver).toBe('letsencrypt');
    expect(d.dnsServers).toEqual([]);
    const c = loadControlPlaneConfig({ BERTH_TRAEFIK_TOKEN: 'tk', BERTH_DNS_SERVERS: '127.0.0.1:5353, 10.0.0.2,[::1]:53', BERTH_TRAEFIK_CERT_RESOLVER: 'le' });
    expect(c.dnsServers).toEqual(['127.0.0.1:5353', '10.0.0.2', '[::1]:53']);
    expect(c.traefikCertResolver).toBe('le');
    expect(() => loadControlPlaneConfig({ BERTH_DNS_SERVERS: '1.2.3.4;5.6.7.8' })).toThrow(/BERTH_DNS_SERVERS must be a comma-separated list of host\[:port\]/);
  });

  it('agent: the proxy kind and Caddy settings', () => {
    const base = { BERTH_WORKER_TOKEN: 't' };
    expect(loadAgentConfig(base).proxy).toEqual({ kind: 'traefik', caddyAdminUrl: 'http://127.0.0.1:2019', caddyTls: 'acme', caddyHttpListen: ':80', caddyHttpsListen: ':443' });
    const c = loadAgentConfig({ ...base, BERTH_PROXY: 'caddy', BERTH_CADDY_TLS: 'internal', BERTH_CADDY_HTTP_LISTEN: '127.0.0.1:8080' });
    expect(c.proxy).toMatchObject({ kind: 'caddy', caddyTls: 'internal', caddyHttpListen: '127.0.0.1:8080' });
    expect(() => loadAgentConfig({ ...base, BERTH_PROXY: 'nginx' })).toThrow(/BERTH_PROXY must be one of traefik, caddy, none/);
    expect(() => loadAgentConfig({ ...base, BERTH_CADDY_HTTPS_LISTEN: '443' })).toThrow(/BERTH_CADDY_HTTPS_LISTEN must be \[host\]:port/);
  });
});
