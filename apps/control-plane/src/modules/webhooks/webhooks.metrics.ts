import { Counter, register } from 'prom-client';

const NAME = 'berth_webhook_rejected_total';

/** Refused webhook requests, by provider and reason (missing_signature, malformed_signature, bad_signature, unknown_app, …). */
export const webhookRejected: Counter<'provider' | 'reason'> =
  (register.getSingleMetric(NAME) as Counter<'provider' | 'reason'> | undefined) ??
  new Counter({ name: NAME, help: 'Webhook requests refused with 401, by provider and reason', labelNames: ['provider', 'reason'] });
