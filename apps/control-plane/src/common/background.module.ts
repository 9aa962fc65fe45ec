import { DynamicModule, Global, Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { BACKGROUND_OPTIONS, type BackgroundOptions } from './background.options';
import { LeaderLocks } from './leader-locks.service';
import { PeriodicJobs } from './periodic-jobs';
import { Reactions } from './reactions.service';

/** What every module's background work stands on: named leader locks, periodic jobs and reactions. */
@Global()
@Module({})
export class BackgroundModule {
  static forRoot(options: BackgroundOptions): DynamicModule {
    return {
      module: BackgroundModule,
      imports: [ScheduleModule.forRoot()],
      providers: [{ provide: BACKGROUND_OPTIONS, useValue: options }, LeaderLocks, PeriodicJobs, Reactions],
      exports: [BACKGROUND_OPTIONS, LeaderLocks, PeriodicJobs, Reactions],
    };
  }
}
