/**
 * The one adapter to the outside world of alert notifications: outbound HTTP (webhook, Slack) and SMTP
 * (nodemailer). `deliver` resolves when the receiver acknowledged the message (2xx, or the SMTP server
 * accepted it) and throws with a reason otherwise.
 */
import type { AlertChannel } from '@berth/contracts';
import { createHmac } from 'node:crypto';
import nodemailer, { type Transporter } from 'nodemailer';
import type { AlertNotification } from './projections/alert-outbox.projector';

export const DELIVERY_HEADER = 'X-Berth-Delivery';
export const SIGNATURE_HEADER = 'X-Berth-Signature';
export const DELIVERY_TIMEOUT_MS = 10_000;

export interface NotifierOptions {
  webhookSecret?: string;
  smtpUrl?: string;
  smtpFrom: string;
}

/** `sha256=<hex HMAC-SHA256 of the raw body>`, as GitHub signs its webhooks. */
export function signBody(body: string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export function describe(n: AlertNotification): string {
  const what = n.state === 'firing' ? 'FIRING' : 'RESOLVED';
  const value = n.value === undefined ? '' : ` (value ${Math.round(n.value * 100) / 100})`;
  return `[Berth] ${what}: ${n.kind} alert on app ${n.appId}${value} at ${n.at} (incident ${n.incidentId})`;
}

export class AlertNotifiers {
  private mailer?: Transporter;

  constructor(private readonly opts: NotifierOptions) {}

  async deliver(channel: AlertChannel, notification: AlertNotification, deliveryId: string): Promise<void> {
    switch (channel.type) {
      case 'webhook': {
        const body = JSON.stringify({ deliveryId, ...notification });
        const headers: Record<string, string> = { 'content-type': 'application/json', [DELIVERY_HEADER]: deliveryId, 'X-Berth-Event': notification.event };
        if (this.opts.webhookSecret) headers[SIGNATURE_HEADER] = signBody(body, this.opts.webhookSecret);
        return post(channel.url, body, headers);
      }
      case 'slack':
        return post(channel.url, JSON.stringify({ text: describe(notification) }), { 'content-type': 'application/json', [DELIVERY_HEADER]: deliveryId });
      case 'email': {
        if (!this.opts.smtpUrl) throw new Error('BERTH_SMTP_URL is not set: email channels cannot be delivered');
        this.mailer ??= nodemailer.createTransport({
          url: this.opts.smtpUrl,
          connectionTimeout: DELIVERY_TIMEOUT_MS,
          greetingTimeout: DELIVERY_TIMEOUT_MS,
          socketTimeout: DELIVERY_TIMEOUT_MS,
        });
        const text = describe(notification);
        await this.mailer.sendMail({
          from: this.opts.smtpFrom,
          to: channel.to,
          subject: text.split(' at ')[0],
          text,
          // The same Message-ID for every resend of one delivery: mail systems drop the duplicate.
          messageId: `<${deliveryId}@berth>`,
          headers: { [DELIVERY_HEADER]: deliveryId },
        });
        return;
      }
    }
  }

  close(): void {
    this.mailer?.close();
    this.mailer = undefined;
  }
}

async function post(url: string, body: string, headers: Record<string, string>): Promise<void> {
  const res = await fetch(url, { method: 'POST', body, headers, redirect: 'manual', signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS) });
  await res.arrayBuffer().catch(() => undefined);
  if (res.status < 200 || res.status >= 300) throw new Error(`${url} answered ${res.status}`);
}
