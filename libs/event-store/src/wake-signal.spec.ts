import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BlockedRetry, WakeSignal } from './wake-signal';

describe('WakeSignal', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  const settled = (p: Promise<void>) => {
    let done = false;
    void p.then(() => (done = true));
    return () => done;
  };

  it('waits until notified', async () => {
    const wake = new WakeSignal();
    const isDone = settled(wake.wait(Infinity, new AbortController().signal));
    await vi.advanceTimersByTimeAsync(60_000);
    expect(isDone()).toBe(false);
    wake.notify();
    await vi.advanceTimersByTimeAsync(0);
    expect(isDone()).toBe(true);
  });

  it('returns at once for a wake that came while the reader was busy, and only once', async () => {
    const wake = new WakeSignal();
    wake.notify();
    wake.notify();
    await wake.wait(Infinity, new AbortController().signal);
    const isDone = settled(wake.wait(1000, new AbortController().signal));
    await vi.advanceTimersByTimeAsync(999);
    expect(isDone()).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(isDone()).toBe(true);
  });

  it('stops waiting when aborted', async () => {
    const wake = new WakeSignal();
    const abort = new AbortController();
    const isDone = settled(wake.wait(Infinity, abort.signal));
    abort.abort();
    await vi.advanceTimersByTimeAsync(0);
    expect(isDone()).toBe(true);
  });
});

describe('BlockedRetry', () => {
  it('retries soon while events are held back, backs off to 50 ms, and starts over once they flow', () => {
    const retry = new BlockedRetry();
    expect(Array.from({ length: 7 }, () => retry.next(true))).toEqual([2, 4, 8, 16, 32, 50, 50]);
    expect(retry.next(false)).toBe(Infinity);
    expect(retry.next(true)).toBe(2);
    expect(retry.next(true)).toBe(4);
    expect(retry.next(true, true)).toBe(2);
  });
});
