import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { ControlPlaneConfig } from '@berth/config';
import { EventStore, ProjectorRunner, type AppendResult, type Cursor, type Projector } from '@berth/event-store';
import type { Pool } from 'pg';
import { CONTROL_PLANE_CONFIG } from '../config/config.module';
import { PG_POOL } from './pg-pool';
import { structuredLogger } from '../common/structured-logger';

/**
 * Owns the projector runner. Feature modules register their projectors in onModuleInit; the runner
 * starts at application bootstrap and stops at shutdown.
 */
@Injectable()
export class Projections implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly projectors: Projector[] = [];
  private runner?: ProjectorRunner;
  private readonly logger = new Logger('projections');

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    private readonly store: EventStore,
    @Inject(CONTROL_PLANE_CONFIG) private readonly config: ControlPlaneConfig,
  ) {}

  register(projector: Projector): void {
    if (this.runner) throw new Error(`projector ${projector.name} registered after the runner started`);
    this.projectors.push(projector);
  }

  private ensureRunner(): ProjectorRunner {
    this.runner ??= new ProjectorRunner(this.pool, this.store, this.projectors, {
      pollIntervalMs: this.config.pollIntervalMs,
      logger: structuredLogger(this.logger),
    });
    return this.runner;
  }

  async onApplicationBootstrap(): Promise<void> {
    const runner = this.ensureRunner();
    await runner.catchUp();
    runner.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.runner?.stop();
  }

  /** Read-your-writes: resolves once every read model reflects the append. */
  waitFor(result: AppendResult | Cursor, timeoutMs?: number): Promise<void> {
    return this.ensureRunner().waitFor(result, timeoutMs);
  }

  catchUp(): Promise<void> {
    return this.ensureRunner().catchUp();
  }

  rebuild(): Promise<void> {
    return this.ensureRunner().rebuild();
  }
}

