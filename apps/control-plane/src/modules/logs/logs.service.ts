import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import type { ControlPlaneConfig } from '@berth/config';
import { AGENT_MESSAGE, type BuildLogLine, type LogLinesMsg, type LogStream } from '@berth/contracts';
import { DAY_MS } from '@berth/core';
import { CLOCK, type Clock } from '../../common/clock';
import { DomainError, ErrorCode, notFound } from '../../common/errors';
import { LiveBus } from '../../common/live-bus';
import { PeriodicJobs } from '../../common/periodic-jobs';
import { CONTROL_PLANE_CONFIG } from '../../config/config.module';
import { AppsService } from '../apps/apps.service';
import { DeploymentTelemetry } from '../deploy/deployment-telemetry';
import { AgentMessages } from '../workers/agent-messages.registry';
import { WorkersService } from '../workers/workers.service';
import { ContainerOwnership } from '../stats/container-ownership';
import { LiveFeeds, type FeedSubscription } from './live-feeds';
import { MAX_LOG_LINES_PER_BATCH, parseLogLines } from './log-lines.messages';
import { RuntimeLogsRepository, type StoredLogLine } from './runtime-logs.repository';
import { runRetention } from './telemetry-retention';

export const MAX_LOG_PAGE = 1_000;
export const MAX_TAIL = 10_000;
const LOGS_TOPIC = 'logs';
/** A live read that failed (database busy or restarting) is tried again after this long. */
const FEED_RETRY_MS = 1_000;
const BUILD_LOGS_TOPIC = 'build-logs';
/**
 * Lines read for live subscribers at a time: an agent's batch (MAX_LOG_LINES_PER_BATCH), so a flood
 * is read back in as many pages as it was written in; each page's fixed cost (a query, a socket.io
 * message) is spread over five times the lines of the API's page.
 */
const LIVE_PAGE = MAX_LOG_LINES_PER_BATCH;

export interface LogQuery {
  after?: string;
  limit?: number;
  stream?: LogStream;
  q?: string;
}

/** `after`: an opaque cursor, the decimal id of the last line seen. */
export function parseCursor(after: unknown, what = 'after'): string {
  if (after === undefined || after === null || after === '') return '0';
  if (typeof after !== 'string' || !/^\d{1,18}$/.test(after)) {
    throw new DomainError(ErrorCode.InvalidInput, `${what} must be a cursor returned as "next" (or a line's id)`);
  }
  return after.replace(/^0+(?=\d)/, '');
}

/**
 * Runtime logs (seed 3): `logs:lines` from agents into `runtime_logs` (duplicates dropped), the paged
 * API, and history-then-live subscriptions for the socket.io namespaces, for runtime logs and for
 * build output. Live fan-out crosses replicas as wake-ups on the live bus; lines are read from the table.
 */
@Injectable()
export class LogsService implements OnModuleInit {
  private readonly logger = new Logger('logs');
  private readonly appFeeds: LiveFeeds<StoredLogLine>;
  private readonly buildFeeds: LiveFeeds<BuildLogLine>;
  private readonly ownership: ContainerOwnership;

  constructor(
    private readonly repo: RuntimeLogsRepository,
    private readonly messages: AgentMessages,
    private readonly deployments: DeploymentTelemetry,
    private readonly apps: AppsService,
    private readonly workers: WorkersService,
    private readonly bus: LiveBus,
    private readonly jobs: PeriodicJobs,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(CONTROL_PLANE_CONFIG) private readonly config: ControlPlaneConfig,
  ) {
    this.ownership = new ContainerOwnership((ids) => this.deployments.placements(ids), () => this.clock.now().getTime());
    const retry = (feeds: () => LiveFeeds<unknown>) => (err: unknown, key: string) => {
      this.logger.warn({ err, key, msg: 'could not read new log lines for live subscribers; retrying in a second' });
      this.clock.setTimeout(() => feeds().wake(key), FEED_RETRY_MS);
    };
    this.appFeeds = new LiveFeeds(
      { readAfter: (appId, after, limit) => this.repo.readAfter(appId, after, limit), idOf: (l) => l.id },
      retry(() => this.appFeeds as LiveFeeds<unknown>),
      LIVE_PAGE,
    );
    this.buildFeeds = new LiveFeeds(
      { readAfter: (deploymentId, after, limit) => this.deployments.readBuildLog(deploymentId, Number(after), limit), idOf: (l) => String(l.seq), compare: (x, y) => Number(x) - Number(y) },
      retry(() => this.buildFeeds as LiveFeeds<unknown>),
    );
  }

  onModuleInit(): void {
    this.messages.handle(AGENT_MESSAGE.logLines, parseLogLines, (worker, msg) => this.ingest(worker.workerId, msg));
    this.bus.on(LOGS_TOPIC, (p) => this.appFeeds.wake((p as { a: string }).a));
    this.bus.on(BUILD_LOGS_TOPIC, (p) => this.buildFeeds.wake((p as { d: string }).d));
    this.bus.onResync(() => {
      this.appFeeds.wakeAll();
      this.buildFeeds.wakeAll();
    });
    this.deployments.onBuildLogStored((deploymentId) => void this.publish(BUILD_LOGS_TOPIC, { d: deploymentId }));
    this.jobs.every('telemetry-retention', DAY_MS, (now) => this.retain(now), { leaderOnly: true });
  }

  /** One batch of one container: checked, stored once per (container, seq), and the new lines fanned out. */
  async ingest(workerId: string, msg: LogLinesMsg): Promise<{ stored: number; duplicates: number }> {
    await this.ownership.assert(workerId, [msg]);
    const inserted = await this.repo.insert(msg, msg.lines, this.clock.now());
    // Not awaited: the lines are committed; the wake-up needs no ack to wait for it.
    if (inserted > 0) void this.publish(LOGS_TOPIC, { a: msg.appId });
    return { stored: inserted, duplicates: msg.lines.length - inserted };
  }

  /** `GET /api/apps/:id/logs`: lines after the cursor, oldest first; `next` is the cursor to continue from. */
  async read(appId: string, query: LogQuery): Promise<{ lines: StoredLogLine[]; next: string | null }> {
    await this.requireApp(appId);
    const after = parseCursor(query.after);
    const limit = Math.min(Math.max(query.limit ?? 500, 1), MAX_LOG_PAGE);
    const lines = await this.repo.readAfter(appId, after, limit, { stream: query.stream, q: query.q });
    return { lines, next: lines.length > 0 ? lines[lines.length - 1].id : after === '0' ? null : after };
  }

  /** History from the cursor (or the last `tail` lines), then live. */
  async subscribe(appId: string, from: { after?: string; tail?: number }, send: (lines: StoredLogLine[]) => void): Promise<FeedSubscription> {
    let after = parseCursor(from.after);
    if (from.after === undefined && from.tail !== undefined) {
      const tail = await this.repo.tail(appId, from.tail);
      if (tail.length > 0) {
        send(tail);
        after = tail[tail.length - 1].id;
      }
    }
    return this.appFeeds.subscribe(appId, after, send);
  }

  /** Build output of a deployment: history after `afterSeq`, then live. */
  subscribeBuild(deploymentId: string, afterSeq: number, send: (lines: BuildLogLine[]) => void): FeedSubscription {
    return this.buildFeeds.subscribe(deploymentId, String(afterSeq), send);
  }

  async requireApp(appId: string): Promise<void> {
    if (!(await this.apps.exists(appId))) throw notFound('app', appId);
  }

  async retain(now: Date): Promise<void> {
    const result = await runRetention(
      now,
      {
        pruneRuntimeLogs: (before, n) => this.repo.pruneReceivedBefore(before, n),
        pruneBuildLogs: (keep, n) => this.deployments.pruneBuildLogs(keep, n),
        pruneHeartbeats: (before, n) => this.workers.pruneHeartbeats(before, n),
      },
      this.config.logRetentionDays,
    );
    this.logger.log({ ...result, msg: 'telemetry retention done' });
  }

  private async publish(topic: string, payload: unknown): Promise<void> {
    try {
      await this.bus.publish(topic, payload);
    } catch (err) {
      // The lines are stored; a replica that missed the wake sends them at its next one.
      this.logger.warn({ err, topic, msg: 'could not publish a live log wake-up' });
    }
  }
}
