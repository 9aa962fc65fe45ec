/** Connections to the PostgreSQL server as its superuser, for creating and dropping test databases. */
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { migrate } from '../../apps/control-plane/src/database/data-source';

export const ADMIN_URL = process.env.BERTH_TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export function databaseUrl(name: string): string {
  const u = new URL(ADMIN_URL);
  u.pathname = `/${name}`;
  return u.toString();
}

export async function withAdmin<T>(fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: ADMIN_URL });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** A freshly created and migrated database (for benchmarks, which run outside Vitest's template clone). */
export async function createMigratedDatabase(prefix = 'berth_bench'): Promise<{ name: string; url: string; drop: () => Promise<void> }> {
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  await withAdmin((c) => c.query(`CREATE DATABASE ${name}`));
  const url = databaseUrl(name);
  await migrate(url);
  return { name, url, drop: async () => void (await withAdmin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`))) };
}
