import { Injectable, Module, OnModuleInit } from '@nestjs/common';
import { DAY_MS, USAGE_RECORD_INTERVAL_MS } from '@berth/core';
import { PeriodicJobs } from '../../common/periodic-jobs';
import { AppsModule } from '../apps/apps.module';
import { UsageController } from './usage.controller';
import { UsageRecorder } from './usage-recorder';
import { UsageRepository } from './usage.repository';

/** Seed 7: the recorder every minute and the pruner every day, each on one replica at a time. */
@Injectable()
export class UsageBackground implements OnModuleInit {
  constructor(
    private readonly jobs: PeriodicJobs,
    private readonly recorder: UsageRecorder,
  ) {}

  onModuleInit(): void {
    this.jobs.every('usage-recorder', USAGE_RECORD_INTERVAL_MS, async (now) => void (await this.recorder.record(now)), { leaderOnly: true });
    this.jobs.every('usage-pruner', DAY_MS, async (now) => void (await this.recorder.prune(now)), { leaderOnly: true, runAtStart: true });
  }
}

@Module({
  imports: [AppsModule],
  controllers: [UsageController],
  providers: [UsageRepository, UsageRecorder, UsageBackground],
})
export class UsageModule {}
