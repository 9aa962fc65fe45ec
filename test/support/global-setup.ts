import { randomBytes } from 'node:crypto';
import type { TestProject } from 'vitest/node';
import { migrate } from '../../apps/control-plane/src/database/data-source';
import { databaseUrl, withAdmin } from './pg-admin';

/** Migrates one template database per run; every test file clones it. */
export default async function setup(project: TestProject) {
  const template = `berth_tpl_${randomBytes(4).toString('hex')}`;
  await withAdmin((c) => c.query(`CREATE DATABASE ${template}`));
  await migrate(databaseUrl(template));
  project.provide('templateDatabase', template);
  return async () => {
    await withAdmin((c) => c.query(`DROP DATABASE IF EXISTS ${template} WITH (FORCE)`));
  };
}
