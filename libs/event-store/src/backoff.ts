/** Exponential backoff for retries: min·2^attempt, capped at max, with up to `jitter` of it taken off at random. */
export interface BackoffOptions {
  minMs: number;
  maxMs: number;
  /** 0..1, the share of the delay that may be removed at random so retries do not march in step. */
  jitter?: number;
}

export function backoffDelay(attempt: number, opts: BackoffOptions, random: () => number = Math.random): number {
  const exp = opts.minMs * 2 ** Math.max(0, Math.min(attempt, 30));
  const capped = Math.min(opts.maxMs, exp);
  const jitter = opts.jitter ?? 0;
  return Math.round(capped * (1 - jitter * random()));
}

/** Resolves after `ms`, or at once when the signal aborts (never rejects). */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
