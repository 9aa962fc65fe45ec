import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import type { ControlPlaneConfig } from '@berth/config';
import { STUCK_JOB_REASON } from '@berth/contracts';
import { STUCK_JOB_SWEEP_INTERVAL_MS } from '@berth/core';
import { PeriodicJobs } from '../../common/periodic-jobs';
import { CONTROL_PLANE_CONFIG } from '../../config/config.module';
import { DeployService } from './deploy.service';
import { DeploymentsRepository } from './deployments.repository';

/**
 * Seed section 4: "Pending jobs queued for that worker remain assigned until recoverStuckJobs (15-min
 * timeout) flips them to failed." Every minute, on one replica, every job assigned, building or
 * starting with no progress (no event, no build output) for the stuck-job timeout becomes `failed`
 * with reason `timeout`. Nothing is retried: the user redeploys. A result its worker sends later is
 * recorded as late and changes nothing (the deploy decider).
 */
@Injectable()
export class StuckJobRecovery implements OnModuleInit {
  private readonly logger = new Logger('recover-stuck-jobs');

  constructor(
    private readonly repo: DeploymentsRepository,
    private readonly deploy: DeployService,
    private readonly periodic: PeriodicJobs,
    @Inject(CONTROL_PLANE_CONFIG) private readonly config: ControlPlaneConfig,
  ) {}

  onModuleInit(): void {
    this.periodic.every('recover-stuck-jobs', STUCK_JOB_SWEEP_INTERVAL_MS, (now) => this.recoverStuckJobs(now).then(() => undefined), {
      leaderOnly: true,
      runAtStart: true,
    });
  }

  /** Fails every job with no progress since `now - timeout`; resolves to the deployments it failed. */
  async recoverStuckJobs(now: Date): Promise<string[]> {
    const cutoff = new Date(now.getTime() - this.config.stuckJobTimeoutMs);
    const stuck = await this.repo.listWithoutProgressSince(cutoff);
    const failed: string[] = [];
    for (const { deploymentId, lastProgressAt, status } of stuck) {
      try {
        await this.deploy.failJob(deploymentId, STUCK_JOB_REASON);
        failed.push(deploymentId);
        this.logger.warn({ deploymentId, status, lastProgressAt, msg: 'a job made no progress within the stuck-job timeout: failed, not retried' });
      } catch (err) {
        this.logger.warn({ err, deploymentId, msg: 'could not fail a stuck job; the next sweep tries again' });
      }
    }
    return failed;
  }
}
