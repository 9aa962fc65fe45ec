import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import type { ControlPlaneConfig } from '@berth/config';
import { streamIds, webhookUrls, type AppSpec, type AppStatus, type AppView, type CreatedAppView } from '@berth/contracts';
import { type EventMetadata, type ExpectedVersion, type StreamAppend } from '@berth/event-store';
import type { Pool } from 'pg';
import { CLOCK, Clock, ID_GENERATOR, IdGenerator } from '../../common/clock';
import { notFound } from '../../common/errors';
import { newWebhookSecret, SecretBox } from '../../common/secret-box';
import { CONTROL_PLANE_CONFIG } from '../../config/config.module';
import type { RequestMeta } from '../../common/request-meta';
import { PG_POOL } from '../../database/pg-pool';
import { Projections } from '../../database/projections.service';
import { StreamHandler } from '../../database/stream-handler';
import { isUuid } from './app-spec.rules';
import { appDecider, appNameDecider, normaliseSpec, type AppPatch } from './apps.decider';
import { appsProjector } from './projections/apps.projector';

const MAX_ATTEMPTS = 5;

interface AppRow {
  id: string;
  spec: AppSpec;
  status: AppStatus;
  current_worker_id: string | null;
  current_host_port: number | null;
  advertise_ip: string | null;
  created_at: Date;
  updated_at: Date;
}

const SELECT_APPS = `
  SELECT a.id, a.spec, a.status, a.current_worker_id, a.current_host_port, w.advertise_ip, a.created_at, a.updated_at
  FROM apps a LEFT JOIN workers w ON w.id = a.current_worker_id`;

const expected = (version: number): ExpectedVersion => (version === 0 ? 'no_stream' : version);

@Injectable()
export class AppsService implements OnModuleInit {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    private readonly streams: StreamHandler,
    private readonly projections: Projections,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(ID_GENERATOR) private readonly ids: IdGenerator,
    private readonly secrets: SecretBox,
    @Inject(CONTROL_PLANE_CONFIG) private readonly config: ControlPlaneConfig,
  ) {}

  onModuleInit(): void {
    this.projections.register(appsProjector);
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
    const { rows } = await this.pool.query<AppRow>(`${SELECT_APPS} ORDER BY a.created_at, a.id`);
    return rows.map((row) => toView(row, this.config.publicUrl));
  }

  async get(appId: string): Promise<AppView> {
    if (!isUuid(appId)) throw notFound('app', appId);
    const { rows } = await this.pool.query<AppRow>(`${SELECT_APPS} WHERE a.id = $1`, [appId]);
    if (!rows[0]) throw notFound('app', appId);
    return toView(rows[0], this.config.publicUrl);
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

function toView(row: AppRow, publicUrl: string): AppView {
  const endpoints =
    row.current_worker_id && row.current_host_port
      ? [{ workerId: row.current_worker_id, address: `${row.advertise_ip ?? '127.0.0.1'}:${row.current_host_port}` }]
      : [];
  return {
    id: row.id,
    ...normaliseSpec(row.spec),
    status: row.status,
    endpoints,
    webhooks: webhookUrls(publicUrl, row.id),
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}
