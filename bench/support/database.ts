import { randomBytes } from 'node:crypto';
import { migrate } from '../../apps/control-plane/src/database/data-source';
import { databaseUrl, withAdmin } from '../../test/support/pg-admin';

/** A freshly migrated database for one benchmark, dropped by the returned function. */
export async function createBenchDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `berth_bench_${randomBytes(4).toString('hex')}`;
  await withAdmin((c) => c.query(`CREATE DATABASE ${name}`));
  const url = databaseUrl(name);
  await migrate(url);
  return { url, drop: async () => void (await withAdmin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`))) };
}
