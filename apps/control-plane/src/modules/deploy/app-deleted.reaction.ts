import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { APP_DELETED_REASON, type EventOfType } from '@berth/contracts';
import { EventStore, type Cursor, type StoredEvent, type Subscription } from '@berth/event-store';
import { Projections } from '../../database/projections.service';
import { AppsService } from '../apps/apps.service';
import { DeployService } from './deploy.service';
import { structuredLogger } from '../../common/structured-logger';

const ACTOR = 'system:app-deleted';
/** How long the boot sweep waits for the read models to reach the head of the log. */
const SWEEP_CATCH_UP_MS = 60_000;

/**
 * Deleting an app ends its deployments: every one still queued, assigned, building or starting is
 * failed with APP_DELETED_REASON (CancelDeployment), so nothing waits forever for an app that is gone.
 *
 * A subscription from the head of the log reacts to AppDeleted; at boot, a sweep catches what no
 * subscription saw (the control plane was down, or crashed mid-way): unfinished deployments whose app
 * has no row in `apps`, each confirmed against the app's own stream before it is touched. Every
 * replica runs both; running twice is harmless, since the decider decides nothing for a finished
 * deployment and a concurrent append is decided again.
 */
@Injectable()
export class AppDeletedReaction implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('app-deleted-reaction');
  private subscription?: Subscription;
  private sweeping?: Promise<unknown>;
  private stopped = false;

  constructor(
    private readonly store: EventStore,
    private readonly projections: Projections,
    private readonly deploy: DeployService,
    private readonly apps: AppsService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.stopped = false;
    const head = await this.store.headCursor();
    this.subscription = this.store.subscribe(head, (events) => this.handle(events), {
      filter: (type) => type === 'AppDeleted',
      logger: structuredLogger(this.logger),
    });
    // In the background: boot does not wait for the read models to catch up with a long log.
    this.sweeping = this.sweep(head).catch((err: unknown) =>
      this.logger.error({ err, msg: 'could not end the deployments of apps deleted before this boot; the next boot tries again' }),
    );
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    await this.subscription?.stop();
    this.subscription = undefined;
    await this.sweeping;
  }

  /**
   * Ends the unfinished deployments of apps deleted up to `upTo`. Candidates come from the read models;
   * only an app whose stream says AppDeleted counts (a read model being rebuilt may lack live apps).
   * Resolves to the number of deployments it ended.
   */
  async sweep(upTo: Cursor): Promise<number> {
    await this.projections.waitFor(upTo, SWEEP_CATCH_UP_MS);
    const deleted = new Map<string, boolean>();
    let ended = 0;
    for (const { deploymentId, appId } of await this.deploy.listUnfinishedWithoutApp()) {
      if (this.stopped) break;
      if (!deleted.has(appId)) deleted.set(appId, await this.apps.wasDeleted(appId));
      if (!deleted.get(appId)) continue;
      try {
        await this.deploy.cancel(deploymentId, APP_DELETED_REASON, ACTOR);
        ended++;
      } catch (err) {
        this.logger.warn({ err, deploymentId, appId, msg: 'could not end a deployment of a deleted app' });
      }
    }
    if (ended > 0) this.logger.log({ ended, msg: 'ended deployments of apps deleted before this boot' });
    return ended;
  }

  /** At least once: an error hands the same batch back (after a backoff), and ending twice decides nothing. */
  private async handle(events: StoredEvent[]): Promise<void> {
    for (const event of events) {
      if (this.stopped) return;
      const { appId } = (event as unknown as EventOfType<'AppDeleted'>).data;
      // Once the read models reach the AppDeleted, they hold every deployment requested before it; none can follow it.
      await this.projections.waitFor({ transactionId: event.transactionId, position: event.position });
      const unfinished = await this.deploy.listUnfinishedOfApp(appId);
      for (const deploymentId of unfinished) await this.deploy.cancel(deploymentId, APP_DELETED_REASON, ACTOR);
      if (unfinished.length > 0) this.logger.log({ appId, ended: unfinished.length, msg: 'ended the unfinished deployments of a deleted app' });
    }
  }
}
