import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import type { ControlPlaneConfig } from '@berth/config';
import { streamIds, webhookUrls, type AdoptedContainer, type AppSpec, type AppStoppedReason, type AppView, type CreatedAppView } from '@berth/contracts';
import { isUuid } from '@berth/core';
import { type EventMetadata, type ExpectedVersion, type StreamAppend } from '@berth/event-store';
import { CLOCK, Clock, ID_GENERATOR, IdGenerator } from '../../common/clock';
import { notFound } from '../../common/errors';
import { newWebhookSecret, SecretBox } from '../../common/secret-box';
import { CONTROL_PLANE_CONFIG } from '../../config/config.module';
import type { RequestMeta } from '../../common/request-meta';
import { Projections } from '../../database/projections.service';
import { StreamHandler } from '../../database/stream-handler';
import { WorkersService } from '../workers/workers.service';
import { appDecider, appNameDecider, normaliseSpec, type AppPatch } from './apps.decider';
import { AppsRepository, type AppRow } from './apps.repository';
import { appsProjector } from './projections/apps.projector';

const MAX_ATTEMPTS = 5;

const expected = (version: number): ExpectedVersion => (version === 0 ? 'no_stream' : version);

@Injectable()
export class AppsService implements OnModuleInit {
  constructor(
    private readonly repo: AppsRepository,
    private readonly workers: WorkersService,
    private readonly streams: StreamHandler,
    private readonly projections: Projections,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(ID_GENERATOR) private readonly ids: IdGenerator,
    private readonly secrets: SecretBox,
    @Inject(CONTROL_PLANE_CONFIG) private readonly config: ControlPlaneConfig,
  ) {}

  onModuleInit(): void {
    this.projections.register(appsProjector);
    // Seed 4's status cascade: a lost worker's running apps become `stopped`, in the same append.
    this.workers.onWorkerLost((workerId, reason) => this.stopAppsOn(workerId, reason));
    // And back: an app stopped there runs again when its serving container is among those the agent still runs.
    this.workers.onWorkerBack((workerId, running) => this.restoreAppsOn(workerId, running));
  }

  /** AppRestored for each app stopped on the worker whose serving container the agent reports running. */
  private async restoreAppsOn(workerId: string, running: readonly AdoptedContainer[]): Promise<StreamAppend[]> {
    const serving = new Set(running.map((c) => c.deploymentId));
    const parts: StreamAppend[] = [];
    for (const row of await this.repo.stoppedOn(workerId)) {
      if (!row.current_deployment_id || !serving.has(row.current_deployment_id)) continue;
      const app = await this.streams.load(streamIds.app(row.id), appDecider);
      const events = appDecider.decide({ type: 'RestoreApp', appId: row.id, workerId, deploymentId: row.current_deployment_id }, app.state, this.clock.now());
      if (events.length > 0) parts.push({ streamId: streamIds.app(row.id), streamType: 'app', expectedVersion: expected(app.version), events });
    }
    return parts;
  }

  /** AppStopped for each app running on the worker: the parts of the worker-loss append. */
  private async stopAppsOn(workerId: string, reason: AppStoppedReason): Promise<StreamAppend[]> {
    const parts: StreamAppend[] = [];
    for (const row of await this.repo.runningOn(workerId)) {
      const app = await this.streams.load(streamIds.app(row.id), appDecider);
      const deploymentId = row.current_deployment_id ?? undefined;
      const events = appDecider.decide({ type: 'StopApp', appId: row.id, workerId, deploymentId, reason }, app.state, this.clock.now());
      if (events.length > 0) parts.push({ streamId: streamIds.app(row.id), streamType: 'app', expectedVersion: expected(app.version), events });
    }
    return parts;
  }

  /** Live apps among these ids with their serving container (for reconciling what an agent reports). */
  async placements(appIds: readonly string[]): Promise<{ appId: string; status: AppView['status']; deploymentId?: string; workerId?: string }[]> {
    return (await this.repo.getMany(appIds.filter(isUuid))).map((r) => ({
      appId: r.id,
      status: r.status,
      ...(r.current_deployment_id ? { deploymentId: r.current_deployment_id } : {}),
      ...(r.current_worker_id ? { workerId: r.current_worker_id } : {}),
    }));
  }

  /**
   * AppNameClaimed (stream appname-<name>) and AppCreated + WebhookSecretSet (stream app-<id>), in one
   * atomic append. The webhook secret is stored sealed and answered in plaintext this once.
   */
  async create(spec: AppSpec, meta: RequestMeta): Promise<CreatedAppView> {
    const appId = this.ids.newId();
    const webhookSecret = newWebhookSecret();
    const secretSet = { type: 'WebhookSecretSet' as const, data: { appId, encrypted: this.secrets.seal(webhookSecret) } };
    await this.appendAtomically(meta, async () => {
      const name = await this.streams.load(streamIds.appName(spec.name), appNameDecider);
      const now = this.clock.now();
      return [
        {
          streamId: streamIds.appName(spec.name),
          streamType: 'appname',
          expectedVersion: expected(name.version),
          events: appNameDecider.decide({ type: 'ClaimAppName', name: spec.name, appId }, name.state, now),
        },
        {
          streamId: streamIds.app(appId),
          streamType: 'app',
          expectedVersion: 'no_stream',
          events: [...appDecider.decide({ type: 'CreateApp', appId, spec }, appDecider.initialState(), now), secretSet],
        },
      ];
    });
    return { ...(await this.get(appId)), webhookSecret };
  }

  async update(appId: string, patch: AppPatch, meta: RequestMeta): Promise<AppView> {
    await this.streams.handle(streamIds.app(appId), 'app', appDecider, { type: 'UpdateApp', appId, patch }, this.metadata(meta));
    return this.get(appId);
  }

  /** AppDeleted and AppNameReleased, in one atomic append: the name is free the moment the app is gone. */
  async remove(appId: string, meta: RequestMeta): Promise<void> {
    await this.appendAtomically(meta, async () => {
      const app = await this.streams.load(streamIds.app(appId), appDecider);
      const now = this.clock.now();
      const deleted = appDecider.decide({ type: 'DeleteApp', appId }, app.state, now);
      const appName = app.state.spec!.name;
      const name = await this.streams.load(streamIds.appName(appName), appNameDecider);
      const parts: StreamAppend[] = [{ streamId: streamIds.app(appId), streamType: 'app', expectedVersion: expected(app.version), events: deleted }];
      const released = appNameDecider.decide({ type: 'ReleaseAppName', name: appName, appId }, name.state, now);
      if (released.length > 0) {
        parts.push({ streamId: streamIds.appName(appName), streamType: 'appname', expectedVersion: expected(name.version), events: released });
      }
      return parts;
    });
  }

  async list(): Promise<AppView[]> {
    return this.views(await this.repo.list());
  }

  async get(appId: string): Promise<AppView> {
    const row = isUuid(appId) ? await this.repo.get(appId) : undefined;
    if (!row) throw notFound('app', appId);
    return (await this.views([row]))[0];
  }

  /** Each existing app's current deployment id (null before its first succeeded deployment); unknown ids are absent. */
  currentDeployments(appIds: readonly string[]): Promise<Map<string, string | null>> {
    return this.repo.currentDeployments(appIds.filter(isUuid));
  }

  /** Which of these ids belong to live apps (the `apps` read model). */
  existing(appIds: readonly string[]): Promise<Set<string>> {
    return this.repo.existing(appIds.filter(isUuid));
  }

  async exists(appId: string): Promise<boolean> {
    return (await this.existing([appId])).has(appId);
  }

  /** Rows to views, with each endpoint at its worker's advertised address (asked of the workers module). */
  private async views(rows: AppRow[]): Promise<AppView[]> {
    const ips = await this.workers.advertiseIps(rows.flatMap((r) => (r.current_worker_id ? [r.current_worker_id] : [])));
    return rows.map((row) => toView(row, row.current_worker_id ? ips.get(row.current_worker_id) : undefined, this.config.publicUrl));
  }

  /**
   * Whether the app's own stream says it was deleted: the event log, not the `apps` read model, which a
   * rebuild empties and refills. False for an id no app ever had.
   */
  async wasDeleted(appId: string): Promise<boolean> {
    if (!isUuid(appId)) return false;
    const app = await this.streams.load(streamIds.app(appId), appDecider);
    return app.state.status === 'deleted';
  }

  private metadata(meta: RequestMeta): EventMetadata {
    return { actor: meta.actor, correlationId: meta.correlationId };
  }

  /** Decide across streams, append them together, retry on a concurrent writer, then wait for the read models. */
  private async appendAtomically(meta: RequestMeta, decide: () => Promise<StreamAppend[]>): Promise<void> {
    await this.streams.handleMany(decide, this.metadata(meta), { maxAttempts: MAX_ATTEMPTS });
  }

}

function toView(row: AppRow, advertiseIp: string | undefined, publicUrl: string): AppView {
  const endpoints =
    row.current_worker_id && row.current_host_port
      ? [{ workerId: row.current_worker_id, address: `${advertiseIp ?? '127.0.0.1'}:${row.current_host_port}` }]
      : [];
  return {
    id: row.id,
    ...normaliseSpec(row.spec),
    status: row.status,
    ...(row.status === 'stopped' && row.status_reason ? { statusReason: row.status_reason } : {}),
    endpoints,
    webhooks: webhookUrls(publicUrl, row.id),
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}
