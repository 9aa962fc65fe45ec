/**
 * Delivers the notification outbox, at least once, with retries and exponential backoff.
 *
 * Each row is claimed for a lease (claimDue: one statement, `FOR UPDATE SKIP LOCKED`), delivered with
 * no database connection held, and then marked sent, failed or due again — only if the claim still
 * stands. So:
 * - two replicas (or an old and a new leader) never deliver the same row at the same time, and a row
 *   whose delivery was acknowledged and recorded is never sent again;
 * - the one gap HTTP (and SMTP) leave open: the receiver acknowledged but the process died, or lost
 *   its database, before recording it. The lease lapses and the row is sent again with the same
 *   `X-Berth-Delivery` id (for email, the same Message-ID), so a receiver that keeps the ids it has
 *   seen shows each edge once;
 * - rows are independent: a failing or slow channel only delays its own row.
 */
import type { Clock, Logger } from '@berth/core';
import { DELIVERY_TIMEOUT_MS, type AlertNotifiers } from './alert-notifiers';
import type { AlertOutbox, DeliveryAttempt, OutboxRow } from './alerts.repository';

/** Longest wait between two attempts of one delivery. */
export const MAX_RETRY_DELAY_MS = 15 * 60_000;
/** Rows delivered side by side. */
export const SEND_CONCURRENCY = 4;
/** How long a claim keeps other senders off a row: well past one delivery's timeout. */
export const CLAIM_LEASE_MS = 6 * DELIVERY_TIMEOUT_MS;

export interface SenderOptions {
  retryBaseMs: number;
  maxAttempts: number;
}

/** Delay before attempt n + 1 after n failed attempts: base, 2 base, 4 base, … at most 15 minutes. */
export function retryDelayMs(failedAttempts: number, baseMs: number): number {
  return Math.min(MAX_RETRY_DELAY_MS, baseMs * 2 ** Math.max(0, failedAttempts - 1));
}

export class AlertSender {
  constructor(
    private readonly outbox: AlertOutbox,
    private readonly notifiers: AlertNotifiers,
    private readonly clock: Pick<Clock, 'now'>,
    private readonly newId: () => string,
    private readonly opts: SenderOptions,
    private readonly logger: Logger,
  ) {}

  /** Delivers every row due at `now` (retries included); resolves to how many were attempted. */
  async sendDue(now: Date, signal?: AbortSignal): Promise<number> {
    let attempted = 0;
    const worker = async () => {
      while (!signal?.aborted) {
        const claim = this.newId();
        const row = await this.outbox.claimDue(now, CLAIM_LEASE_MS, claim);
        if (!row) return;
        await this.attempt(row, claim);
        attempted++;
      }
    };
    await Promise.all(Array.from({ length: SEND_CONCURRENCY }, worker));
    return attempted;
  }

  private async attempt(row: OutboxRow, claim: string): Promise<void> {
    let error: string | undefined;
    try {
      await this.notifiers.deliver(row.channel, row.payload, row.id);
    } catch (err) {
      error = err instanceof Error ? (err.cause instanceof Error ? `${err.message}: ${err.cause.message}` : err.message) : String(err);
    }
    const at = this.clock.now();
    const attempt: DeliveryAttempt = error === undefined ? { at: at.toISOString(), ok: true } : { at: at.toISOString(), ok: false, error };
    const attempts = [...row.attempts, attempt];
    let recorded: boolean;
    const failed = attempts.filter((a) => !a.ok).length;
    if (error === undefined) {
      recorded = await this.outbox.markSent(row.id, claim, at, attempts);
    } else if (failed >= this.opts.maxAttempts) {
      recorded = await this.outbox.markFailed(row.id, claim, attempts);
      this.logger.warn({ deliveryId: row.id, channel: row.channel.type, attempts: failed, error }, 'an alert notification was given up after its last attempt');
    } else {
      const next = new Date(at.getTime() + retryDelayMs(failed, this.opts.retryBaseMs));
      recorded = await this.outbox.retryAt(row.id, claim, next, attempts);
      this.logger.info({ deliveryId: row.id, channel: row.channel.type, attempts: failed, error, retryAt: next.toISOString() }, 'an alert notification failed; retrying later');
    }
    if (!recorded) this.logger.warn({ deliveryId: row.id }, 'an alert delivery outlived its claim; another sender owns the row now');
  }
}
