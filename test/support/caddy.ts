/**
 * A real Caddy for tests (Debian's /usr/bin/caddy): `caddy run --config <file>` with its admin API on a
 * free 127.0.0.1 port, its data in a scratch directory, and free ports for HTTP and HTTPS that a
 * loaded configuration listens on. restart() starts it again from the bare file (its routes gone).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { eventually, freePort } from './processes';

export const CADDY = '/usr/bin/caddy';

export function hasCaddy(): boolean {
  return existsSync(CADDY);
}

export interface TestCaddy {
  adminUrl: string;
  adminListen: string;
  httpListen: string;
  httpsListen: string;
  httpPort: number;
  httpsPort: number;
  storageDir: string;
  log(): string;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startCaddy(): Promise<TestCaddy> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-caddy-'));
  const [adminPort, httpPort, httpsPort] = [await freePort(), await freePort(), await freePort()];
  const adminListen = `127.0.0.1:${adminPort}`;
  const configFile = path.join(dir, 'caddy.json');
  writeFileSync(configFile, JSON.stringify({ admin: { listen: adminListen }, storage: { module: 'file_system', root: path.join(dir, 'data') } }));
  let child: ChildProcess | undefined;
  let output = '';

  const start = async () => {
    child = spawn(CADDY, ['run', '--config', configFile], {
      env: { PATH: process.env.PATH ?? '', HOME: dir, XDG_DATA_HOME: path.join(dir, 'xdg-data'), XDG_CONFIG_HOME: path.join(dir, 'xdg-config') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    await eventually('Caddy\'s admin API to answer', async () => {
      try {
        return (await fetch(`http://${adminListen}/config/`)).ok ? true : undefined;
      } catch {
        return undefined;
      }
    }, 20_000, 50);
  };
  const stop = () =>
    new Promise<void>((resolve) => {
      const c = child;
      child = undefined;
      if (!c || c.exitCode !== null || c.signalCode !== null) return resolve();
      c.once('exit', () => resolve());
      c.kill('SIGTERM');
    });

  await start();
  return {
    adminUrl: `http://${adminListen}`,
    adminListen,
    httpListen: `127.0.0.1:${httpPort}`,
    httpsListen: `127.0.0.1:${httpsPort}`,
    httpPort,
    httpsPort,
    storageDir: path.join(dir, 'data'),
    log: () => output,
    async restart() {
      await stop();
      await start();
    },
    async stop() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A request through Caddy's plain HTTP port with the given Host header. */
export async function viaCaddy(caddy: TestCaddy, host: string, pathname = '/'): Promise<{ status: number; body: string }> {
  const http = await import('node:http');
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: caddy.httpPort, path: pathname, headers: { host }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.setTimeout(5000, () => req.destroy(new Error('request through Caddy timed out')));
    req.on('error', reject);
    req.end();
  });
}

/** The same over HTTPS (SNI = host), accepting Caddy's internal CA. */
export async function viaCaddyTls(caddy: TestCaddy, host: string): Promise<{ status: number; body: string; issuer: string }> {
  const https = await import('node:https');
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', port: caddy.httpsPort, path: '/', servername: host, headers: { host }, rejectUnauthorized: false, agent: false },
      (res) => {
        const cert = (res.socket as import('node:tls').TLSSocket).getPeerCertificate();
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, issuer: String(cert?.issuer?.CN ?? '') }));
      },
    );
    req.setTimeout(5000, () => req.destroy(new Error('TLS request through Caddy timed out')));
    req.on('error', reject);
    req.end();
  });
}
