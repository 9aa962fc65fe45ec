import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../common/errors';
import { domainErrorOf } from '../../common/errors.testing';
import { fold } from '../../common/decider';
import { deliveryDecider, webhookSecretDecider, type ReceivedDelivery } from './webhooks.decider';

const now = new Date('2026-01-01T00:00:00Z');
const appId = '0b5c8f9e-1111-4a4a-8b8b-000000000001';
const spec = { name: 'web', source: { type: 'git' as const, repoUrl: 'file:///r.git', branch: 'main' }, port: 8080 };

describe('webhookSecretDecider', () => {
  it('given a live app, when the secret is rotated, then WebhookSecretSet with the sealed value', () => {
    const state = fold(webhookSecretDecider, [{ type: 'AppCreated', data: { appId, spec } }]);
    expect(webhookSecretDecider.decide({ type: 'RotateWebhookSecret', appId, encrypted: 'v1.a.b.c' }, state, now)).toEqual([
      { type: 'WebhookSecretSet', data: { appId, encrypted: 'v1.a.b.c' } },
    ]);
  });

  it('given a deleted app, when the secret is rotated, then not found', () => {
    const state = fold(webhookSecretDecider, [
      { type: 'AppCreated', data: { appId, spec } },
      { type: 'AppDeleted', data: { appId } },
    ]);
    expect(domainErrorOf(() => webhookSecretDecider.decide({ type: 'RotateWebhookSecret', appId, encrypted: 'x' }, state, now)).code).toBe(ErrorCode.NotFound);
  });
});

describe('deliveryDecider', () => {
  const delivery: ReceivedDelivery = { provider: 'github', deliveryId: 'd-1', appId, event: 'push', branch: 'main', commit: 'a'.repeat(40), deploymentId: appId };

  it('given no delivery, when recorded, then WebhookReceived', () => {
    expect(deliveryDecider.decide({ type: 'RecordDelivery', delivery }, deliveryDecider.initialState(), now)).toEqual([{ type: 'WebhookReceived', data: delivery }]);
  });

  it('given the delivery was received, when it comes again, then nothing', () => {
    const state = fold(deliveryDecider, [{ type: 'WebhookReceived', data: delivery }]);
    expect(deliveryDecider.decide({ type: 'RecordDelivery', delivery: { ...delivery, deploymentId: 'other' } }, state, now)).toEqual([]);
  });
});
