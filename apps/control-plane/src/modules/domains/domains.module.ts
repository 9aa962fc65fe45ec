import { Module } from '@nestjs/common';
import type { ControlPlaneConfig } from '@berth/config';
import { CONTROL_PLANE_CONFIG } from '../../config/config.module';
import { DnsTxtResolver } from './dns-txt-resolver';
import { DomainRecheckService } from './domain-recheck.service';
import { DomainsController } from './domains.controller';
import { DomainsRepository } from './domains.repository';
import { DomainsService } from './domains.service';
import { TXT_RESOLVER } from './domains.tokens';

/** Custom domains: the API, the `domains` read model, DNS verification and the periodic re-check. */
@Module({
  controllers: [DomainsController],
  providers: [
    DomainsRepository,
    DomainsService,
    DomainRecheckService,
    { provide: TXT_RESOLVER, inject: [CONTROL_PLANE_CONFIG], useFactory: (config: ControlPlaneConfig) => new DnsTxtResolver(config.dnsServers) },
  ],
  exports: [DomainsService],
})
export class DomainsModule {}
