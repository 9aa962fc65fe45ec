import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import type { ControlPlaneConfig } from '@berth/config';
import { PeriodicJobs } from '../../common/periodic-jobs';
import { CONTROL_PLANE_CONFIG } from '../../config/config.module';
import { brokenWatch, decideOffline, sweepGapLimitMs, type OfflineDetectorState } from './offline-detection';
import { WorkersService } from './workers.service';

const JOB = 'worker-offline-detection';

/**
 * Marks workers offline when their heartbeats stop (BERTH_WORKER_GRACE_MS), on one replica at a
 * time, judging by heartbeat times stored in PostgreSQL against PostgreSQL's clock. Taking a worker
 * offline stops its running apps in the same append (WorkersService.takeOffline).
 */
@Injectable()
export class WorkerHealth implements OnModuleInit {
  private readonly logger = new Logger('worker-health');
  private state: OfflineDetectorState = brokenWatch();
  readonly sweepIntervalMs: number;

  constructor(
    private readonly workers: WorkersService,
    private readonly periodic: PeriodicJobs,
    @Inject(CONTROL_PLANE_CONFIG) private readonly config: ControlPlaneConfig,
  ) {
    this.sweepIntervalMs = Math.max(100, Math.min(1_000, Math.floor(config.workerGraceMs / 5)));
  }

  onModuleInit(): void {
    this.periodic.every(JOB, this.sweepIntervalMs, () => this.sweep().then(() => undefined), { leaderOnly: true, runAtStart: true });
  }

  /** One sweep; resolves to the workers it took offline. */
  async sweep(): Promise<string[]> {
    let found;
    try {
      // A replica that was not sweeping (another held the lock, or the database was away) finds its last
      // sweep late and starts its watch over (decideOffline).
      found = await this.workers.silentWorkers(this.config.workerGraceMs);
    } catch (err) {
      this.state = brokenWatch();
      throw err;
    }
    const gapMs = this.state.lastSweepAt === undefined ? 0 : found.now.getTime() - this.state.lastSweepAt.getTime();
    if (gapMs > sweepGapLimitMs(this.config.workerGraceMs, this.sweepIntervalMs)) {
      this.logger.warn({ gapMs, msg: 'the offline sweep came late (paused process or stalled database): watching a whole grace period again before judging' });
    }
    const { state, offline } = decideOffline(this.state, found, this.config.workerGraceMs, this.sweepIntervalMs);
    this.state = state;
    const taken: string[] = [];
    for (const { workerId, lastHeartbeatAt } of offline) {
      const silentMs = found.now.getTime() - lastHeartbeatAt.getTime();
      try {
        await this.workers.takeOffline(workerId, `no heartbeat for ${Math.round(silentMs / 1000)} s`, lastHeartbeatAt.toISOString());
        taken.push(workerId);
        this.logger.warn({ workerId, lastHeartbeatAt, silentMs, msg: 'worker stopped heartbeating: offline' });
      } catch (err) {
        this.logger.warn({ err, workerId, msg: 'could not mark a silent worker offline; the next sweep tries again' });
      }
    }
    return taken;
  }
}
