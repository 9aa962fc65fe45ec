import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { ControlPlaneConfig } from '@berth/config';
import { EventStore, ReactionRunner, type Reaction, type StoredEvent, type Subscription } from '@berth/event-store';
import type { Pool } from 'pg';
import { CONTROL_PLANE_CONFIG } from '../config/config.module';
import { PG_POOL } from '../database/pg-pool';
import { BACKGROUND_OPTIONS, type BackgroundOptions } from './background.options';
import { LeaderLocks } from './leader-locks.service';
import { structuredLogger } from './structured-logger';

export type { Reaction };

/**
 * What modules do in reply to events. Each module registers its reactions in onModuleInit:
 * - `durable(reaction)`: from a stored checkpoint, at least once, on one replica at a time (its own
 *   named lock): for decisions and side effects that must happen once the event is there, even if
 *   every replica was down when it was appended.
 * - `everyReplica(reaction)`: on each replica, from the head of the log, for work that concerns only
 *   this replica (pushing to the agents connected here); what such a reaction misses while down is
 *   covered some other way (an agent's hello, for one).
 * Neither runs in a maintenance command (projections:rebuild).
 */
@Injectable()
export class Reactions implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('reactions');
  private readonly durables: Reaction[] = [];
  private readonly locals: Reaction[] = [];
  private runner?: ReactionRunner;
  private readonly subscriptions: Subscription[] = [];

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    private readonly store: EventStore,
    private readonly locks: LeaderLocks,
    @Inject(CONTROL_PLANE_CONFIG) private readonly config: ControlPlaneConfig,
    @Inject(BACKGROUND_OPTIONS) private readonly options: BackgroundOptions,
  ) {}

  durable(reaction: Reaction): void {
    if (this.runner) throw new Error(`reaction ${reaction.name} registered after the reactions started`);
    this.durables.push(reaction);
  }

  everyReplica(reaction: Reaction): void {
    if (this.runner) throw new Error(`reaction ${reaction.name} registered after the reactions started`);
    this.locals.push(reaction);
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.options.runBackgroundWork) return;
    const logger = structuredLogger(this.logger);
    this.runner = new ReactionRunner(this.pool, this.store, this.durables, {
      lockOf: (name) => this.locks.named(`reaction:${name}`),
      pollIntervalMs: this.config.pollIntervalMs,
      logger,
    });
    this.runner.start();
    if (this.locals.length === 0) return;
    // One subscription for all of them: one read of the log per wake, each event to the reactions
    // that handle it, in order.
    const head = await this.store.headCursor();
    const handled = new Set(this.locals.flatMap((r) => r.handles));
    this.subscriptions.push(this.store.subscribe(head, (events) => this.handleLocally(events), { filter: (type) => handled.has(type), logger }));
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all(this.subscriptions.splice(0).map((s) => s.stop()));
    await this.runner?.stop();
  }

  /** The reaction's checkpoint (durable reactions only), for tests and operators. */
  checkpoint(name: string) {
    return this.runner?.checkpoint(name);
  }

  /** Per event and reaction: one failing event is logged and holds nothing back (these only push to sockets). */
  private async handleLocally(events: StoredEvent[]): Promise<void> {
    for (const event of events) {
      for (const reaction of this.locals) {
        if (!reaction.handles.includes(event.type)) continue;
        try {
          await reaction.handle(event);
        } catch (err) {
          this.logger.warn({ err, reaction: reaction.name, eventType: event.type, position: event.position, msg: 'a reaction failed on an event' });
        }
      }
    }
  }
}
