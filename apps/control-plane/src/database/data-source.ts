import { DataSource } from 'typeorm';
import { migrations } from '../../../../migrations';

/** The PostgreSQL adapter's connection: TypeORM owns the pool and runs the migrations (never synchronize). */
export function createDataSource(databaseUrl: string, poolSize = 10): DataSource {
  return new DataSource({
    type: 'postgres',
    url: databaseUrl,
    migrations,
    migrationsRun: false,
    synchronize: false,
    logging: false,
    extra: { max: poolSize },
  });
}

/** Runs every pending migration and closes the connection. */
export async function migrate(databaseUrl: string): Promise<string[]> {
  const ds = createDataSource(databaseUrl, 2);
  await ds.initialize();
  try {
    const ran = await ds.runMigrations({ transaction: 'each' });
    return ran.map((m) => m.name);
  } finally {
    await ds.destroy();
  }
}
