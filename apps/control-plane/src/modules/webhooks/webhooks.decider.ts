import type { AppEvent, WebhookEvent } from '@berth/contracts';
import type { Decider } from '../../common/decider';
import { DomainError, ErrorCode } from '../../common/errors';
import { appDecider, type AppState } from '../apps/apps.decider';

export type RotateWebhookSecret = { type: 'RotateWebhookSecret'; appId: string; encrypted: string };

/** On stream `app-<id>`: a live app gets a new sealed secret; the old one stops verifying once it is projected. */
export const webhookSecretDecider: Decider<AppState, RotateWebhookSecret, AppEvent> = {
  initialState: appDecider.initialState,
  evolve: appDecider.evolve,
  decide(command, state) {
    if (state.status !== 'active') throw new DomainError(ErrorCode.NotFound, `app ${command.appId} does not exist`);
    return [{ type: 'WebhookSecretSet', data: { appId: command.appId, encrypted: command.encrypted } }];
  },
};

export type ReceivedDelivery = WebhookEvent['data'];
export type RecordDelivery = { type: 'RecordDelivery'; delivery: ReceivedDelivery };

export interface DeliveryState {
  received?: ReceivedDelivery;
}

/**
 * Stream `webhookdelivery-<provider>-<app id>-<delivery id>`: a delivery is recorded once (per app: one
 * body sent to two apps' URLs without a delivery header is two deliveries). Appending at 'no_stream'
 * means two copies arriving together cannot both be recorded; the second decides nothing.
 */
export const deliveryDecider: Decider<DeliveryState, RecordDelivery, WebhookEvent> = {
  initialState: () => ({}),
  evolve: (_state, event) => ({ received: event.data }),
  decide: (command, state) => (state.received ? [] : [{ type: 'WebhookReceived', data: command.delivery }]),
};
