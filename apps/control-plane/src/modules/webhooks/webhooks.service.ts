import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { isWebhookProvider, streamIds, WEBHOOK_PROVIDERS, type WebhookProvider } from '@berth/contracts';
import type { Pool } from 'pg';
import { ID_GENERATOR, type IdGenerator } from '../../common/clock';
import { DomainError, ErrorCode, notFound } from '../../common/errors';
import type { RequestMeta } from '../../common/request-meta';
import { newWebhookSecret, SecretBox } from '../../common/secret-box';
import { PG_POOL } from '../../database/pg-pool';
import { Projections } from '../../database/projections.service';
import { StreamHandler } from '../../database/stream-handler';
import { isUuid } from '../apps/app-spec.rules';
import { DeployService } from '../deploy/deploy.service';
import { webhookSecretsProjector } from './projections/webhook-secrets.projector';
import { decideDelivery, parseDelivery } from './push-payload';
import { verifySignature, type RawHeaders } from './webhook-verify';
import { webhookRejected } from './webhooks.metrics';
import { deliveryDecider, webhookSecretDecider, type ReceivedDelivery } from './webhooks.decider';

/** What a delivery got: 202 when it started a deployment, 200 when it was ignored or already received. */
export interface WebhookAnswer {
  statusCode: 200 | 202;
  body: { status: 'deploying' | 'ignored' | 'duplicate'; deliveryId: string; deploymentId?: string; commit?: string; branch?: string; reason?: string };
}

/** One answer for every refusal, so the endpoint says nothing about which apps exist. */
const REFUSED = 'the webhook signature does not verify (check the secret and the URL in the git host’s webhook settings)';

@Injectable()
export class WebhooksService implements OnModuleInit {
  private readonly log = new Logger('webhooks');

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    private readonly streams: StreamHandler,
    private readonly projections: Projections,
    private readonly secrets: SecretBox,
    private readonly deploy: DeployService,
    @Inject(ID_GENERATOR) private readonly ids: IdGenerator,
  ) {}

  onModuleInit(): void {
    this.projections.register(webhookSecretsProjector);
  }

  /** A new secret (WebhookSecretSet on the app's stream); the old one is refused once this returns. */
  async rotateSecret(appId: string, meta: RequestMeta): Promise<{ webhookSecret: string }> {
    if (!isUuid(appId)) throw notFound('app', appId);
    const webhookSecret = newWebhookSecret();
    await this.streams.handle(
      streamIds.app(appId),
      'app',
      webhookSecretDecider,
      { type: 'RotateWebhookSecret', appId, encrypted: this.secrets.seal(webhookSecret) },
      { actor: meta.actor, correlationId: meta.correlationId },
      { ifMissing: () => notFound('app', appId) },
    );
    return { webhookSecret };
  }

  /**
   * verify (raw bytes, the app's secret) -> parse -> decide against the app's branch -> record the
   * delivery once -> request the deployment at the pushed commit, caused by that record.
   */
  async receive(providerName: string, appId: string, headers: RawHeaders, body: Buffer, meta: RequestMeta): Promise<WebhookAnswer> {
    if (!isWebhookProvider(providerName)) {
      throw new DomainError(ErrorCode.NotFound, `unknown webhook provider "${providerName.slice(0, 40)}": use one of ${WEBHOOK_PROVIDERS.join(', ')}`);
    }
    const provider: WebhookProvider = providerName;
    const hook = await this.hookOf(appId);
    if (hook === undefined) return this.refuse(provider, 'unknown_app');
    const verdict = verifySignature(provider, headers, body, hook.secret);
    if (!verdict.ok) return this.refuse(provider, verdict.reason);

    const delivery = parseDelivery(provider, headers, body);
    if ('error' in delivery) throw new DomainError(ErrorCode.InvalidInput, `the ${provider} webhook could not be read: ${delivery.error}`);
    const decision = hook.branch !== null ? decideDelivery(delivery, hook.branch) : { action: 'ignore' as const, reason: 'the app deploys an image, not a git branch' };

    const received: ReceivedDelivery = { provider, deliveryId: delivery.deliveryId, appId, event: delivery.event };
    if (decision.branch) received.branch = decision.branch;
    if (decision.commit) received.commit = decision.commit;
    if (decision.action === 'deploy') received.deploymentId = this.ids.newId();
    else received.ignored = decision.reason;

    const webhookMeta = { actor: `webhook:${provider}`, correlationId: meta.correlationId };
    const stream = streamIds.webhookDelivery(provider, appId, delivery.deliveryId);
    const recorded = await this.streams.handle(stream, 'webhookdelivery', deliveryDecider, { type: 'RecordDelivery', delivery: received }, webhookMeta, {
      waitForProjections: false,
      expectNew: true,
    });
    if (recorded.appended.length === 0) return this.duplicate(stream, webhookMeta);
    if (decision.action === 'ignore') return { statusCode: 200, body: { status: 'ignored', deliveryId: delivery.deliveryId, reason: decision.reason } };
    const deployment = await this.deploy.request(
      appId,
      { commit: decision.commit, trigger: 'webhook', deploymentId: received.deploymentId, causationId: recorded.result!.eventIds[0] },
      webhookMeta,
    );
    this.log.log({ provider, appId, deliveryId: delivery.deliveryId, commit: decision.commit, deploymentId: deployment.id }, 'push deploys');
    return { statusCode: 202, body: { status: 'deploying', deliveryId: delivery.deliveryId, deploymentId: deployment.id, branch: decision.branch, commit: decision.commit } };
  }

  /**
   * The delivery was recorded before. If it was to deploy, its deployment is requested again under the
   * recorded id, which is a no-op unless the first attempt stopped between the two appends.
   */
  private async duplicate(stream: string, meta: RequestMeta): Promise<WebhookAnswer> {
    const { state, events } = await this.streams.load(stream, deliveryDecider);
    const first = state.received!;
    const body: WebhookAnswer['body'] = { status: 'duplicate', deliveryId: first.deliveryId, reason: `delivery ${first.deliveryId} was already received` };
    if (first.deploymentId) {
      await this.deploy.request(first.appId, { commit: first.commit, trigger: 'webhook', deploymentId: first.deploymentId, causationId: events[0].eventId }, meta);
      body.deploymentId = first.deploymentId;
    }
    return { statusCode: 200, body };
  }

  private refuse(provider: WebhookProvider, reason: string): never {
    webhookRejected.inc({ provider, reason });
    throw new DomainError(ErrorCode.Unauthorized, REFUSED);
  }

  /** The app's webhook secret in plaintext and its branch, or undefined when there is no such live app (or the secret cannot be unsealed). */
  private async hookOf(appId: string): Promise<{ secret: string; branch: string | null } | undefined> {
    if (!isUuid(appId)) return undefined;
    const { rows } = await this.pool.query<{ encrypted: string; branch: string | null }>(
      'SELECT encrypted, branch FROM webhook_secrets WHERE app_id = $1 AND encrypted IS NOT NULL',
      [appId],
    );
    if (!rows[0]) return undefined;
    try {
      return { secret: this.secrets.open(rows[0].encrypted), branch: rows[0].branch };
    } catch {
      this.log.warn({ appId }, 'the webhook secret cannot be unsealed: BERTH_SECRET_KEY changed since it was set; rotate it (POST /api/apps/:id/webhook-secret)');
      return undefined;
    }
  }
}
