import { describe, expect, it } from 'vitest';
import { MAX_RETRY_DELAY_MS, retryDelayMs } from './alert-sender';

describe('delivery retries', () => {
  it('back off exponentially from the base, at most 15 minutes apart', () => {
    expect([1, 2, 3, 4].map((n) => retryDelayMs(n, 5_000))).toEqual([5_000, 10_000, 20_000, 40_000]);
    expect(retryDelayMs(30, 5_000)).toBe(MAX_RETRY_DELAY_MS);
  });
});
