import { Inject, Injectable, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { AGENT_MESSAGE, type AppStatsView, type StatsSnapshotsMsg } from '@berth/contracts';
import { STATS_SNAPSHOT_TTL_MS } from '@berth/core';
import { CLOCK, type Clock } from '../../common/clock';
import { DomainError, ErrorCode, notFound } from '../../common/errors';
import { LiveBus, MAX_NOTIFY_BYTES } from '../../common/live-bus';
import { Reactions } from '../../common/reactions.service';
import { AppsService } from '../apps/apps.service';
import { DeploymentTelemetry } from '../deploy/deployment-telemetry';
import { AgentMessages } from '../workers/agent-messages.registry';
import { ContainerOwnership } from './container-ownership';
import { parseStatsSnapshots } from './stats.messages';
import { StatsStore, toLiveView, type StatsSnapshot, type StatsSubscription } from './stats.store';
import { aggregateUsage, type UsageView } from './usage-aggregate';

const TOPIC = 'stats';

/**
 * Live container metrics (seed 2): `stats:snapshots` from agents into the in-memory StatsStore of every
 * replica (this one directly, the others through the live bus), the app's view for the API, and
 * push subscriptions for the socket.io namespaces.
 */
@Injectable()
export class StatsService implements OnModuleInit, OnApplicationShutdown {
  private readonly usageListeners = new Set<(usage: UsageView) => void>();
  private usageQueued = false;
  private stopBus?: () => void;
  private stopChange?: () => void;
  private readonly ownership: ContainerOwnership;

  constructor(
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly messages: AgentMessages,
    private readonly deployments: DeploymentTelemetry,
    private readonly apps: AppsService,
    private readonly bus: LiveBus,
    readonly store: StatsStore,
    private readonly reactions: Reactions,
  ) {
    this.ownership = new ContainerOwnership((ids) => this.deployments.placements(ids), () => clock.now().getTime());
  }

  onModuleInit(): void {
    this.messages.handle(AGENT_MESSAGE.statsSnapshots, parseStatsSnapshots, (worker, msg) => this.ingest(worker.workerId, msg));
    this.stopBus = this.bus.on(TOPIC, (payload) => {
      for (const snapshot of payload as StatsSnapshot[]) this.store.put(snapshot);
    });
    this.stopChange = this.store.onChange(() => this.queueUsage());
    // A deleted app has no live stats: its subscribers see live=false at once, not 45 s later.
    this.reactions.everyReplica({
      name: 'stats-of-deleted-apps',
      handles: ['AppDeleted'],
      handle: async (event) => this.store.forget((event.data as { appId: string }).appId),
    });
  }

  onApplicationShutdown(): void {
    this.stopBus?.();
    this.stopChange?.();
    this.store.close();
  }

  /**
   * One tick of a worker: refused whole (400, nothing stored) when it names a container the worker
   * does not run; otherwise each app's current container is kept and published, and snapshots of a
   * superseded (or not yet current) deployment are skipped.
   */
  async ingest(workerId: string, msg: StatsSnapshotsMsg): Promise<{ stored: number; skipped: number }> {
    if (Date.parse(msg.sampledAt) - this.clock.now().getTime() > STATS_SNAPSHOT_TTL_MS) {
      throw new DomainError(ErrorCode.InvalidInput, `sampledAt ${msg.sampledAt} is in the future; check the worker's clock`);
    }
    await this.ownership.assert(workerId, msg.containers);
    const current = await this.apps.currentDeployments(msg.containers.map((c) => c.appId));
    const snapshots: StatsSnapshot[] = msg.containers
      .filter((c) => current.get(c.appId) === c.deploymentId)
      .map((c) => ({ appId: c.appId, deploymentId: c.deploymentId, view: toLiveView(c, msg.sampledAt) }));
    for (const chunk of chunksUnder(snapshots, MAX_NOTIFY_BYTES - 200)) await this.bus.publish(TOPIC, chunk);
    return { stored: snapshots.length, skipped: msg.containers.length - snapshots.length };
  }

  /** `GET /api/apps/:id/stats`: 404 for an unknown app, live=false on a miss. */
  async get(appId: string): Promise<AppStatsView> {
    if (!(await this.apps.exists(appId))) throw notFound('app', appId);
    return this.store.get(appId);
  }

  subscribeStats(appId: string): StatsSubscription {
    return this.store.subscribeStats(appId);
  }

  usage(): UsageView {
    return aggregateUsage(this.store.live());
  }

  /** Every change of the aggregate (coalesced: one push per batch of snapshots). */
  onUsage(listener: (usage: UsageView) => void): () => void {
    this.usageListeners.add(listener);
    return () => void this.usageListeners.delete(listener);
  }

  private queueUsage(): void {
    if (this.usageQueued || this.usageListeners.size === 0) return;
    this.usageQueued = true;
    queueMicrotask(() => {
      this.usageQueued = false;
      const usage = this.usage();
      for (const listener of [...this.usageListeners]) listener(usage);
    });
  }
}

/** Splits items into arrays whose JSON stays under `maxBytes` (each NOTIFY must). */
export function chunksUnder<T>(items: readonly T[], maxBytes: number): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let size = 2;
  for (const item of items) {
    const itemSize = Buffer.byteLength(JSON.stringify(item)) + 1;
    if (current.length > 0 && size + itemSize > maxBytes) {
      chunks.push(current);
      current = [];
      size = 2;
    }
    current.push(item);
    size += itemSize;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
