import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EventWaker } from './event-waker';
import type { Logger } from './logger';

describe('EventWaker without a database', () => {
  beforeEach(() => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] }));
  afterEach(() => vi.useRealTimers());

  it('keeps polling and retries the connection with backoff instead of crashing', async () => {
    const retries: number[] = [];
    let warned: () => void = () => undefined;
    const logger: Logger = {
      debug: () => undefined,
      info: () => undefined,
      error: () => undefined,
      warn: (obj) => {
        retries.push((obj as { retryInMs: number }).retryInMs);
        warned();
      },
    };
    const nextWarning = () => new Promise<void>((resolve) => (warned = resolve));
    // Nothing listens on port 1: every connection attempt is refused at once.
    const waker = new EventWaker({ connection: { host: '127.0.0.1', port: 1 }, channel: 'c', pollIntervalMs: 1000, reconnect: { minMs: 100, maxMs: 400 }, logger });
    let wakes = 0;
    waker.onWake(() => wakes++);

    let warning = nextWarning();
    void waker.start();
    await warning;
    for (let i = 0; i < 3; i++) {
      warning = nextWarning();
      await vi.advanceTimersByTimeAsync(retries[retries.length - 1]);
      await warning;
    }
    expect(retries).toEqual([100, 200, 400, 400]);
    expect(waker.isListening).toBe(false);

    const before = wakes;
    await vi.advanceTimersByTimeAsync(3000);
    expect(wakes - before).toBe(3);
    await waker.stop();
    await vi.advanceTimersByTimeAsync(3000);
    expect(wakes - before).toBe(3);
  });
});
