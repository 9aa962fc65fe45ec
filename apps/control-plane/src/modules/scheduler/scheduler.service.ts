import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { ControlPlaneConfig } from '@berth/config';
import { ConcurrencyError, EventStore } from '@berth/event-store';
import { CLOCK, ID_GENERATOR, type Clock, type IdGenerator } from '../../common/clock';
import { LeaderLocks } from '../../common/leader-locks.service';
import { DomainError, ErrorCode } from '../../common/errors';
import { CONTROL_PLANE_CONFIG } from '../../config/config.module';
import { Projections } from '../../database/projections.service';
import { DeployService } from '../deploy/deploy.service';
import { WorkersService } from '../workers/workers.service';
import { SchedulerLoop, type SchedulerLogger } from './scheduler.loop';
import type { WorkerSnapshot } from './scheduler';
import { structuredLogger } from '../../common/structured-logger';

/** Events after which a placement may change: new work, a worker coming or going, memory freed. */
export const SCHEDULER_WAKE_EVENTS: ReadonlySet<string> = new Set([
  'DeploymentRequested',
  'WorkerCameOnline',
  'WorkerWentOffline',
  'JobSucceeded',
  'JobFailed',
  'AppDeleted',
]);

/** A deployment that moved on (assigned elsewhere, deleted, no longer queued): nothing to do for it. */
const SUPERSEDED: ReadonlySet<ErrorCode> = new Set([ErrorCode.InvalidState, ErrorCode.NotFound, ErrorCode.Conflict]);

/** Owns the scheduler loop: starts it at bootstrap, stops it (and releases the lock) at shutdown. */
@Injectable()
export class SchedulerService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('scheduler');
  private readonly loop: SchedulerLoop;

  constructor(
    private readonly deploy: DeployService,
    private readonly workers: WorkersService,
    private readonly store: EventStore,
    private readonly projections: Projections,
    @Inject(CONTROL_PLANE_CONFIG) config: ControlPlaneConfig,
    @Inject(ID_GENERATOR) ids: IdGenerator,
    @Inject(CLOCK) clock: Clock,
    locks: LeaderLocks,
  ) {
    const logger: SchedulerLogger = structuredLogger(this.logger);
    this.loop = new SchedulerLoop({
      lock: locks.named('scheduler'),
      listQueued: () => this.deploy.listQueued(),
      listWorkers: () => this.snapshots(),
      assign: (deploymentId, job) => this.deploy.assign(deploymentId, job).then(() => undefined),
      markWaiting: (deploymentId, reason) => this.deploy.markWaiting(deploymentId, reason).then(() => undefined),
      newId: () => ids.newId(),
      watch: (wake) => this.watch(wake),
      isSuperseded: (err) => err instanceof ConcurrencyError || (err instanceof DomainError && SUPERSEDED.has(err.code)),
      pollIntervalMs: config.pollIntervalMs,
      timers: { setInterval: (fn, ms) => clock.setInterval(fn, ms), clearInterval: (h) => clock.clearInterval(h as ReturnType<Clock['setInterval']>) },
      logger,
    });
  }

  /** Whether this replica holds the scheduler lock. */
  get leader(): boolean {
    return this.loop.leader;
  }

  onApplicationBootstrap(): Promise<void> {
    return this.loop.start();
  }

  onApplicationShutdown(): Promise<void> {
    return this.loop.stop();
  }

  private async snapshots(): Promise<WorkerSnapshot[]> {
    const workers = await this.workers.listWithoutApps();
    return workers.map((w) => ({
      workerId: w.id,
      name: w.name,
      ...(w.zone !== undefined ? { zone: w.zone } : {}),
      online: w.status === 'online' && w.capacity !== undefined,
      capacityMemoryMb: w.capacity?.memoryMb ?? 0,
      placedMemoryMb: w.allocatedMemoryMb,
    }));
  }

  /** Wakes the loop once the read models it reads reflect the waking event. */
  private async watch(wake: () => void): Promise<() => Promise<void>> {
    const subscription = this.store.subscribe(
      await this.store.headCursor(),
      async (events) => {
        const last = events[events.length - 1];
        try {
          await this.projections.waitFor({ transactionId: last.transactionId, position: last.position });
        } catch (err) {
          this.logger.warn({ err, msg: 'read models are behind; scheduling anyway (the next poll catches up)' });
        }
        wake();
      },
      {
        filter: (type) => SCHEDULER_WAKE_EVENTS.has(type),
        logger: structuredLogger(this.logger),
      },
    );
    return () => subscription.stop();
  }
}
