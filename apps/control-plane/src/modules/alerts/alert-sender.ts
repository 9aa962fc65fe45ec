/**
 * Delivers the notification outbox, at least once, with retries and exponential backoff.
 *
 * Each row is claimed in its own transaction (`FOR UPDATE SKIP LOCKED`), delivered while the claim is
 * held, and marked sent (or given its next attempt time) in that same transaction. So:
 * - two replicas (or an old and a new leader) never deliver the same row at the same time, and a row
 *   whose delivery was acknowledged and committed is never sent again;
 * - the one gap HTTP leaves open: the receiver acknowledged but the process died (or lost its database
 *   connection) before the commit. The row is then sent again, with the same `X-Berth-Delivery` id (and
 *   for email the same Message-ID), so a receiver that keeps the ids it has seen shows each edge once.
 * - rows are independent: a failing channel only delays its own row.
 */
import type { Clock, Logger } from '@berth/core';
import type { Pool } from 'pg';
import type { AlertNotifiers } from './alert-notifiers';
import { outboxOn, type DeliveryAttempt, type OutboxRow } from './alerts.repository';

/** Longest wait between two attempts of one delivery. */
export const MAX_RETRY_DELAY_MS = 15 * 60_000;
/** Rows delivered side by side (each holds one pooled connection while it is sent). */
export const SEND_CONCURRENCY = 4;

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
    private readonly pool: Pool,
    private readonly notifiers: AlertNotifiers,
    private readonly clock: Pick<Clock, 'now'>,
    private readonly opts: SenderOptions,
    private readonly logger: Logger,
  ) {}

  /** Delivers every row due at `now` (retries included); resolves to how many were attempted. */
  async sendDue(now: Date, signal?: AbortSignal): Promise<number> {
    let attempted = 0;
    const worker = async () => {
      while (!signal?.aborted) {
        const done = await this.sendOne(now);
        if (!done) return;
        attempted++;
      }
    };
    await Promise.all(Array.from({ length: SEND_CONCURRENCY }, worker));
    return attempted;
  }

  /** Claims one due row and delivers it; false when none is due (or every due one is claimed elsewhere). */
  private async sendOne(now: Date): Promise<boolean> {
    const client = await this.pool.connect();
    let broken = false;
    try {
      await client.query('BEGIN');
      const outbox = outboxOn(client);
      const row = await outbox.claimDue(now);
      if (!row) {
        await client.query('COMMIT');
        return false;
      }
      await this.attempt(outbox, row);
      await client.query('COMMIT');
      return true;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => (broken = true));
      throw err;
    } finally {
      client.release(broken);
    }
  }

  private async attempt(outbox: ReturnType<typeof outboxOn>, row: OutboxRow): Promise<void> {
    let error: string | undefined;
    try {
      await this.notifiers.deliver(row.channel, row.payload, row.id);
    } catch (err) {
      error = err instanceof Error ? (err.cause instanceof Error ? `${err.message}: ${err.cause.message}` : err.message) : String(err);
    }
    const at = this.clock.now();
    const attempt: DeliveryAttempt = error === undefined ? { at: at.toISOString(), ok: true } : { at: at.toISOString(), ok: false, error };
    const attempts = [...row.attempts, attempt];
    if (error === undefined) {
      await outbox.markSent(row.id, at, attempts);
      return;
    }
    const failed = attempts.filter((a) => !a.ok).length;
    if (failed >= this.opts.maxAttempts) {
      await outbox.markFailed(row.id, attempts);
      this.logger.warn({ deliveryId: row.id, channel: row.channel.type, attempts: failed, error }, 'an alert notification was given up after its last attempt');
      return;
    }
    const next = new Date(at.getTime() + retryDelayMs(failed, this.opts.retryBaseMs));
    await outbox.retryAt(row.id, next, attempts);
    this.logger.info({ deliveryId: row.id, channel: row.channel.type, attempts: failed, error, retryAt: next.toISOString() }, 'an alert notification failed; retrying later');
  }
}
