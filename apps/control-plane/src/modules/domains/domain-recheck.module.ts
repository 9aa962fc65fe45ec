import { Module } from '@nestjs/common';
import { DomainRecheckService } from './domain-recheck.service';
import { DomainsModule } from './domains.module';

/** The periodic re-check of verified domains (serve mode only, like the scheduler). */
@Module({
  imports: [DomainsModule],
  providers: [DomainRecheckService],
})
export class DomainRecheckModule {}
