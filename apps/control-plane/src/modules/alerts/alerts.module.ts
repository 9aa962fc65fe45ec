import { Inject, Injectable, Logger, Module, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type { ControlPlaneConfig } from '@berth/config';
import type { Pool } from 'pg';
import { CLOCK, ID_GENERATOR, type Clock, type IdGenerator } from '../../common/clock';
import { PeriodicJobs } from '../../common/periodic-jobs';
import { Reactions } from '../../common/reactions.service';
import { structuredLogger } from '../../common/structured-logger';
import { CONTROL_PLANE_CONFIG } from '../../config/config.module';
import { PG_POOL } from '../../database/pg-pool';
import { AppsModule } from '../apps/apps.module';
import { AlertNotifiers } from './alert-notifiers';
import { AlertPoller } from './alert-poller';
import { AlertReactions } from './alert-reactions';
import { AlertSender } from './alert-sender';
import { AlertsController } from './alerts.controller';
import { AlertOutbox, AlertsRepository } from './alerts.repository';
import { AlertsService } from './alerts.service';

/** How often the sender looks for due notifications (new edges and retries). */
export const ALERT_SEND_INTERVAL_MS = 1_000;

/**
 * The background side of alerts: the poller (seed 6, every BERTH_ALERT_TICK_MS, one replica at a
 * time), the event-driven reactions (durable, at least once) and the notification sender (one replica
 * at a time; its rows are claimed for a lease besides, so a change of leader never sends one twice at once).
 */
@Injectable()
export class AlertsBackground implements OnModuleInit, OnApplicationShutdown {
  readonly sender: AlertSender;
  private readonly notifiers: AlertNotifiers;
  private readonly tickMs: number;
  private readonly logger = new Logger('alert-sender');

  constructor(
    private readonly jobs: PeriodicJobs,
    private readonly reactions: Reactions,
    private readonly poller: AlertPoller,
    private readonly alertReactions: AlertReactions,
    @Inject(PG_POOL) pool: Pool,
    @Inject(CLOCK) clock: Clock,
    @Inject(ID_GENERATOR) ids: IdGenerator,
    @Inject(CONTROL_PLANE_CONFIG) config: ControlPlaneConfig,
  ) {
    const { alerts } = config;
    this.notifiers = new AlertNotifiers({ webhookSecret: alerts.webhookSecret, smtpUrl: alerts.smtpUrl, smtpFrom: alerts.smtpFrom });
    this.sender = new AlertSender(new AlertOutbox(pool), this.notifiers, clock, () => ids.newId(), alerts, structuredLogger(this.logger));
    this.tickMs = alerts.tickMs;
  }

  onModuleInit(): void {
    this.reactions.durable(this.alertReactions);
    this.jobs.every('alert-poller', this.tickMs, async (now) => void (await this.poller.tick(now)), { leaderOnly: true });
    this.jobs.every('alert-sender', ALERT_SEND_INTERVAL_MS, async (now) => void (await this.sender.sendDue(now)), { leaderOnly: true });
  }

  onApplicationShutdown(): void {
    this.notifiers.close();
  }
}

@Module({
  imports: [AppsModule],
  controllers: [AlertsController],
  providers: [AlertsRepository, AlertsService, AlertPoller, AlertReactions, AlertsBackground],
  exports: [AlertsService],
})
export class AlertsModule {}
