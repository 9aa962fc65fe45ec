import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import type { ControlPlaneConfig } from '@berth/config';
import { PeriodicJobs } from '../../common/periodic-jobs';
import { CONTROL_PLANE_CONFIG } from '../../config/config.module';
import { DomainsService } from './domains.service';

/** The periodic job's name (and its leader lock's). */
export const DOMAIN_RECHECK_JOB = 'domain-recheck';

/**
 * Re-checks verified domains every BERTH_DOMAIN_RECHECK_INTERVAL_MS on the one replica holding the
 * job's lock; a domain whose TXT record no longer proves it is unrouted (DomainUnrouted says why).
 */
@Injectable()
export class DomainRecheckService implements OnApplicationBootstrap {
  private readonly logger = new Logger('domain-recheck');

  constructor(
    private readonly domains: DomainsService,
    private readonly jobs: PeriodicJobs,
    @Inject(CONTROL_PLANE_CONFIG) private readonly config: ControlPlaneConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.jobs.every(
      DOMAIN_RECHECK_JOB,
      this.config.domainRecheckIntervalMs,
      async () => {
        const { checked, unrouted } = await this.domains.recheckVerified();
        if (unrouted > 0) this.logger.warn({ checked, unrouted, msg: 'unrouted domains whose TXT record no longer proves them' });
      },
      { leaderOnly: true },
    );
  }
}
