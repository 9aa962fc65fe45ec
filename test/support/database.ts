/**
 * Each test file gets its own database, cloned from a template migrated once per run
 * (CREATE DATABASE … TEMPLATE …), and drops it when done.
 */
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { databaseUrl, withAdmin } from './pg-admin';

export { databaseUrl, withAdmin };

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const template = inject('templateDatabase');
  const name = `berth_t_${randomBytes(6).toString('hex')}`;
  await withAdmin((c) => c.query(`CREATE DATABASE ${name} TEMPLATE ${template}`));
  return {
    name,
    url: databaseUrl(name),
    drop: () => withAdmin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    templateDatabase: string;
  }
}
