/**
 * A PostgreSQL cluster of a test's own (initdb + pg_ctl on a free 127.0.0.1 port), for tests that stop
 * and restart PostgreSQL: the shared cluster other test files use is never touched.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { migrate } from '../../apps/control-plane/src/database/data-source';
import { freePort } from './processes';

export interface PgCluster {
  port: number;
  /** A migrated database on this cluster. */
  createDatabase(name: string): Promise<{ url: string; drop(): Promise<void> }>;
  start(): void;
  stop(): void;
  destroy(): void;
}

function binDir(): string {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return '';
  const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
  return versions.length > 0 ? path.join(root, versions[0], 'bin') : '';
}

/** initdb refuses to run as root: as root, the cluster belongs to the postgres user. */
function run(cmd: string, args: string[]): void {
  const bin = binDir();
  const exe = bin ? path.join(bin, cmd) : cmd;
  if (process.getuid?.() === 0) execFileSync('runuser', ['-u', 'postgres', '--', exe, ...args], { stdio: 'pipe' });
  else execFileSync(exe, args, { stdio: 'pipe' });
}

export async function startPgCluster(): Promise<PgCluster> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-pg-'));
  chmodSync(dir, 0o777);
  const data = path.join(dir, 'data');
  const port = await freePort();
  run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync']);
  const start = () => run('pg_ctl', ['-D', data, '-l', path.join(dir, 'server.log'), '-w', '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`, 'start']);
  const stop = () => run('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
  start();
  const admin = `postgres://postgres@127.0.0.1:${port}/postgres`;
  return {
    port,
    start,
    stop,
    async createDatabase(name) {
      const c = new Client({ connectionString: admin });
      await c.connect();
      await c.query(`CREATE DATABASE ${name}`);
      await c.end();
      const url = `postgres://postgres@127.0.0.1:${port}/${name}`;
      await migrate(url);
      return { url, drop: async () => undefined };
    },
    destroy() {
      try {
        stop();
      } catch {
        // already stopped
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
