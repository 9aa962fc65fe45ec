import { Global, Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { LeaderLocks } from './leader-locks.service';
import { PeriodicJobs } from './periodic-jobs';

/** What every module's background work stands on: named leader locks and periodic jobs. */
@Global()
@Module({
  imports: [ScheduleModule.forRoot()],
  providers: [LeaderLocks, PeriodicJobs],
  exports: [LeaderLocks, PeriodicJobs],
})
export class BackgroundModule {}
