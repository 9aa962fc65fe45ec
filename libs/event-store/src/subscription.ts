/**
 * An in-process subscription: reads the log from a cursor in order, hands batches to the handler, and
 * waits for a wake when it has caught up. At-least-once: a failing handler gets the same batch again
 * (after a backoff) until it succeeds, so nothing is dropped or skipped.
 */
import { backoffDelay, delay, type BackoffOptions } from './backoff';
import { noopLogger, type Logger } from './logger';
import type { Cursor, ReadAllResult, StoredEvent, Subscription } from './types';
import { BlockedRetry, WakeSignal } from './wake-signal';

/** What a subscription needs from the store. */
export interface EventSource {
  /** `blocked`: the page is short because committed events wait behind a transaction in flight. */
  readAll(after: Cursor, limit: number): Promise<ReadAllResult & { blocked?: boolean }>;
  /** Calls `listener` whenever events may have been appended; returns the function that removes it. */
  onWake(listener: () => void): () => Promise<void> | void;
}

export interface SubscribeOptions {
  /**
   * Longest wait between reads when no wake arrives. By default the subscription relies on the store's
   * waker, which wakes on NOTIFY and polls every second.
   */
  pollIntervalMs?: number;
  /** Events read (and handed over, before filtering) per batch; default 500. */
  batchSize?: number;
  /** Only events whose type passes are handed to the handler; the cursor still moves past the others. */
  filter?: (type: string) => boolean;
  retry?: BackoffOptions;
  logger?: Logger;
}

export type EventHandler = (events: StoredEvent[]) => Promise<void>;

const DEFAULT_RETRY: BackoffOptions = { minMs: 50, maxMs: 5_000, jitter: 0.2 };

export function subscribe(source: EventSource, from: Cursor, handler: EventHandler, opts: SubscribeOptions = {}): Subscription {
  const batchSize = opts.batchSize ?? 500;
  const logger = opts.logger ?? noopLogger;
  const abort = new AbortController();
  const wake = new WakeSignal();
  const stopWaking = source.onWake(() => wake.notify());

  const blockedRetry = new BlockedRetry();

  const run = async (): Promise<void> => {
    let cursor = from;
    let failures = 0;
    while (!abort.signal.aborted) {
      try {
        const { events, next, blocked } = await source.readAll(cursor, batchSize);
        const wanted = opts.filter ? events.filter((e) => opts.filter!(e.type)) : events;
        if (wanted.length > 0) await handler(wanted);
        cursor = next;
        failures = 0;
        const retryMs = blockedRetry.next(blocked === true, events.length > 0);
        if (events.length < batchSize) await wake.wait(Math.min(opts.pollIntervalMs ?? Infinity, retryMs), abort.signal);
      } catch (err) {
        const retryInMs = backoffDelay(failures++, opts.retry ?? DEFAULT_RETRY);
        logger.error({ err, cursor, retryInMs }, 'subscription failed to read or handle events; retrying from the same cursor');
        await delay(retryInMs, abort.signal);
      }
    }
  };
  const done = run();

  return {
    async stop() {
      abort.abort();
      await done;
      await stopWaking();
    },
  };
}
