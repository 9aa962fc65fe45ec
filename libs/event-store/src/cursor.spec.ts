import { describe, expect, it } from 'vitest';
import { backoffDelay } from './backoff';
import { compareCursors, cursorOfAppend, decodeCursor, encodeCursor } from './cursor';
import { InvalidCursorError } from './errors';
import { START } from './types';

describe('cursor encoding', () => {
  it('round-trips cursors, including bigint positions beyond 2^53', () => {
    const cursors = [START, { transactionId: '742', position: '9' }, { transactionId: '18446744073709551615', position: '9223372036854775807' }];
    for (const c of cursors) expect(decodeCursor(encodeCursor(c))).toEqual(c);
  });

  it('produces a URL-safe string that does not expose the numbers as such', () => {
    const encoded = encodeCursor({ transactionId: '742', position: '9001' });
    expect(encoded).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(encoded).not.toContain('9001');
  });

  const b64 = (s: string) => Buffer.from(s).toString('base64url');
  it.each([
    ['empty', ''],
    ['plain words', 'hello'],
    ['not base64', '!!!***'],
    ['raw numbers', '742:9'],
    ['unknown version', b64('v2:1:2')],
    ['negative', b64('v1:-1:2')],
    ['leading zeros', b64('v1:01:2')],
    ['a transaction id beyond xid8', b64('v1:18446744073709551616:1')],
    ['a position beyond bigint', b64('v1:1:9223372036854775808')],
    ['trailing junk', b64('v1:1:2 ')],
    ['padding and spaces', `${encodeCursor({ transactionId: '1', position: '2' })} `],
    ['too long', 'A'.repeat(500)],
  ])('rejects %s with InvalidCursorError', (_label, garbage) => {
    expect(() => decodeCursor(garbage)).toThrow(InvalidCursorError);
  });

  it('tells a person what to do instead', () => {
    expect(() => decodeCursor('nonsense')).toThrow(/"next" value of a previous response/);
  });
});

describe('compareCursors', () => {
  it('orders by transaction id first, then position, as numbers rather than strings', () => {
    expect(compareCursors({ transactionId: '9', position: '100' }, { transactionId: '10', position: '1' })).toBe(-1);
    expect(compareCursors({ transactionId: '10', position: '2' }, { transactionId: '10', position: '10' })).toBe(-1);
    expect(compareCursors({ transactionId: '10', position: '10' }, { transactionId: '10', position: '10' })).toBe(0);
    expect(compareCursors({ transactionId: '18446744073709551615', position: '1' }, { transactionId: '18446744073709551614', position: '9' })).toBe(1);
  });

  it('takes the last position of an append as its cursor', () => {
    expect(cursorOfAppend({ transactionId: '5', positions: ['98', '99', '100'] })).toEqual({ transactionId: '5', position: '100' });
  });
});

describe('backoffDelay', () => {
  it('doubles from the minimum and stops at the maximum', () => {
    const opts = { minMs: 100, maxMs: 1000 };
    expect([0, 1, 2, 3, 4, 50].map((a) => backoffDelay(a, opts))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it('takes at most the jitter share off', () => {
    expect(backoffDelay(2, { minMs: 100, maxMs: 1000, jitter: 0.5 }, () => 1)).toBe(200);
    expect(backoffDelay(2, { minMs: 100, maxMs: 1000, jitter: 0.5 }, () => 0)).toBe(400);
  });
});
