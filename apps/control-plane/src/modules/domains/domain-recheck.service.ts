import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { ControlPlaneConfig } from '@berth/config';
import { systemClock } from '@berth/core';
import { structuredLogger } from '../../common/structured-logger';
import { CONTROL_PLANE_CONFIG } from '../../config/config.module';
import { PgAdvisoryLock } from '../scheduler/leader-lock';
import { DOMAIN_RECHECK_LOCK_KEY, DomainRecheckLoop } from './domain-recheck.loop';
import { DomainsService } from './domains.service';

/** Owns the periodic re-check of verified domains (one replica at a time). */
@Injectable()
export class DomainRecheckService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('domain-recheck');
  private readonly loop: DomainRecheckLoop;

  constructor(domains: DomainsService, @Inject(CONTROL_PLANE_CONFIG) config: ControlPlaneConfig) {
    const logger = structuredLogger(this.logger);
    this.loop = new DomainRecheckLoop({
      lock: new PgAdvisoryLock(config.databaseUrl, DOMAIN_RECHECK_LOCK_KEY, (err) => logger.warn({ err }, 'lost the domain re-check lock; another replica may take over')),
      clock: systemClock,
      intervalMs: config.domainRecheckIntervalMs,
      recheck: () => domains.recheckVerified(),
      logger,
    });
  }

  onApplicationBootstrap(): void {
    this.loop.start();
  }

  onApplicationShutdown(): Promise<void> {
    return this.loop.stop();
  }
}
