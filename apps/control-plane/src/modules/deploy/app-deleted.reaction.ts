import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { APP_DELETED_REASON, type EventOfType } from '@berth/contracts';
import type { StoredEvent } from '@berth/event-store';
import { Reactions } from '../../common/reactions.service';
import { Projections } from '../../database/projections.service';
import { DeployService } from './deploy.service';

const ACTOR = 'system:app-deleted';
/** How long the reaction waits for the read models to reach the AppDeleted before it retries. */
const CATCH_UP_MS = 60_000;

/**
 * Deleting an app ends its deployments: every one still queued, assigned, building or starting is
 * failed with APP_DELETED_REASON (CancelDeployment), so nothing waits forever for an app that is gone.
 * A durable reaction: an AppDeleted appended while every control plane was down is handled when one
 * comes back, and handling one twice decides nothing (a finished deployment is left as it is).
 */
@Injectable()
export class AppDeletedReaction implements OnModuleInit {
  private readonly logger = new Logger('app-deleted-reaction');

  constructor(
    private readonly reactions: Reactions,
    private readonly projections: Projections,
    private readonly deploy: DeployService,
  ) {}

  onModuleInit(): void {
    this.reactions.durable({ name: 'app-deleted', handles: ['AppDeleted'], handle: async (event) => void (await this.handle(event)) });
  }

  /** Resolves to the number of deployments it ended (0 when the event was handled before). */
  async handle(event: StoredEvent): Promise<number> {
    const { appId } = (event as unknown as EventOfType<'AppDeleted'>).data;
    // Once the read models reach the AppDeleted, they hold every deployment requested before it; none can follow it.
    await this.projections.waitFor({ transactionId: event.transactionId, position: event.position }, CATCH_UP_MS);
    const unfinished = await this.deploy.listUnfinishedOfApp(appId);
    for (const deploymentId of unfinished) await this.deploy.cancel(deploymentId, APP_DELETED_REASON, ACTOR);
    if (unfinished.length > 0) this.logger.log({ appId, ended: unfinished.length, msg: 'ended the unfinished deployments of a deleted app' });
    return unfinished.length;
  }
}
