import { Global, Module, OnApplicationShutdown } from '@nestjs/common';
import type { ControlPlaneConfig } from '@berth/config';
import { EventStore } from '@berth/event-store';
import type { Pool } from 'pg';
import { DataSource } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import { CLOCK, Clock, ID_GENERATOR, IdGenerator } from '../common/clock';
import { CONTROL_PLANE_CONFIG } from '../config/config.module';
import { createDataSource, ensureDatabase } from './data-source';
import { PG_POOL } from './pg-pool';
import { Projections } from './projections.service';
import { StreamHandler } from './stream-handler';

export { PG_POOL };

@Global()
@Module({
  providers: [
    {
      provide: DataSource,
      inject: [CONTROL_PLANE_CONFIG],
      useFactory: async (config: ControlPlaneConfig) => {
        await ensureDatabase(config.databaseUrl);
        const ds = createDataSource(config.databaseUrl, config.databasePoolSize);
        await ds.initialize();
        await ds.runMigrations({ transaction: 'each' });
        return ds;
      },
    },
    { provide: PG_POOL, inject: [DataSource], useFactory: (ds: DataSource) => (ds.driver as PostgresDriver).master as Pool },
    {
      provide: EventStore,
      inject: [PG_POOL, CLOCK, ID_GENERATOR],
      useFactory: (pool: Pool, clock: Clock, ids: IdGenerator) => new EventStore(pool, { clock: () => clock.now(), newId: () => ids.newId() }),
    },
    Projections,
    StreamHandler,
  ],
  exports: [DataSource, PG_POOL, EventStore, Projections, StreamHandler],
})
export class DatabaseModule implements OnApplicationShutdown {
  constructor(private readonly ds: DataSource) {}

  async onApplicationShutdown(): Promise<void> {
    if (this.ds.isInitialized) await this.ds.destroy();
  }
}
