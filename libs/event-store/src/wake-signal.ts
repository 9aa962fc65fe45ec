/**
 * A latch for "something may have been appended": notify() from any number of wakes; wait() returns at
 * once if a wake came since the last wait, otherwise on the next wake, after `ms`, or when aborted.
 */
export class WakeSignal {
  private pending = false;
  private release?: () => void;

  notify(): void {
    this.pending = true;
    this.release?.();
  }

  async wait(ms: number, signal: AbortSignal): Promise<void> {
    if (!this.pending && !signal.aborted) {
      await new Promise<void>((resolve) => {
        const done = () => {
          if (timer) clearTimeout(timer);
          signal.removeEventListener('abort', done);
          this.release = undefined;
          resolve();
        };
        const timer = Number.isFinite(ms) ? setTimeout(done, Math.max(0, ms)) : undefined;
        this.release = done;
        signal.addEventListener('abort', done, { once: true });
      });
    }
    this.pending = false;
  }
}

/**
 * How long to wait before reading again while readAll reports committed events blocked behind a
 * transaction in flight: soon at first (most transactions are short), backing off to 50 ms while a long
 * one holds them back; progress or an unblocked read starts over.
 */
export class BlockedRetry {
  private attempt = 0;

  next(blocked: boolean, progressed = false): number {
    if (!blocked || progressed) this.attempt = 0;
    if (!blocked) return Infinity;
    return Math.min(50, 2 * 2 ** Math.min(this.attempt++, 5));
  }
}
