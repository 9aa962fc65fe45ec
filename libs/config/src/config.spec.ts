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
