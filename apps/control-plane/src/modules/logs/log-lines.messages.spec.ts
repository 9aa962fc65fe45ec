import { LOG_LINE_MAX_BYTES } from '@berth/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { domainErrorOf } from '../../common/errors.testing';
import { line as checkedLine, MAX_LOG_LINES_PER_BATCH, parseLogLines, plainLine } from './log-lines.messages';

const APP = '11111111-1111-4111-8111-111111111111';
const DEP = '22222222-2222-4222-8222-222222222222';
const line = (seq: number, text = `line ${seq}`) => ({ seq, ts: '2026-01-01T00:00:00.000Z', stream: 'stdout', text, truncated: false });
const msg = (lines: unknown[]) => ({ containerId: 'c1', appId: APP, deploymentId: DEP, lines });

describe('logs:lines rules', () => {
  it('accepts a batch in seq order with lines up to the 8 KiB cap', () => {
    const parsed = parseLogLines(msg([line(1), line(2, 'é'.repeat(LOG_LINE_MAX_BYTES / 2))]));
    expect(parsed.lines.map((l) => l.seq)).toEqual([1, 2]);
  });

  it.each([
    ['a repeated seq', [line(1), line(1)], /lines\[1\]\.seq must be above the line before it \(1\)/],
    ['seq going backwards', [line(3), line(2)], /lines\[1\]\.seq must be above/],
    ['seq 0', [line(0)], /seq must be a whole number from 1/],
    ['a fractional seq', [line(1.5)], /seq must be a whole number from 1/],
    ['a line of 8 KiB + 1 byte', [line(1, 'a'.repeat(LOG_LINE_MAX_BYTES + 1))], /text must be at most 8192/],
    ['multi-byte text over 8 KiB', [line(1, '€'.repeat(2731))], /text must be at most 8192 bytes of UTF-8/],
    ['a NUL byte', [line(1, 'a\u0000')], /must not contain a NUL byte/],
    ['a bad timestamp', [{ ...line(1), ts: 'noon' }], /ts must be an ISO 8601 date-time/],
    ['too many lines', Array.from({ length: MAX_LOG_LINES_PER_BATCH + 1 }, (_, i) => line(i + 1)), /lines must have at most 5000 items/],
  ])('refuses %s', (_, lines, message) => {
    const err = domainErrorOf(() => parseLogLines(msg(lines)));
    expect(err.code).toBe('INVALID_INPUT');
    expect(err.message).toMatch(message);
  });

  it('refuses a message that is not an object, or names no app', () => {
    expect(domainErrorOf(() => parseLogLines([])).message).toBe('the logs:lines message must be an object');
    expect(domainErrorOf(() => parseLogLines({ ...msg([]), appId: 'x' })).message).toBe('appId must be a UUID');
  });

  it('the fast path for plain lines never takes a line the full check refuses, and gives what it gives', () => {
    const anyValue = fc.oneof(fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.constant(undefined), fc.array(fc.integer(), { maxLength: 2 }));
    const field = <T>(good: fc.Arbitrary<T>) => fc.oneof(good, good, anyValue);
    const candidate = fc.record({
      seq: field(fc.integer({ min: -2, max: 2 ** 53 })),
      ts: field(fc.oneof(fc.date({ min: new Date(0), max: new Date(4e12), noInvalidDate: true }).map((d) => d.toISOString()), fc.constantFrom('2026-13-01T00:00:00Z', '2026-01-01T25:00:00Z', '2026-01-01T', '2026-01-01Tnoon', '2026-01-01T00:00:00.123456789Z'))),
      stream: field(fc.constantFrom('stdout', 'stderr', 'STDOUT', 'log')),
      text: field(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.constant('€'.repeat(2731)), fc.constant('a'.repeat(8192)), fc.constant('a\u0000b'))),
      truncated: field(fc.boolean()),
    });
    fc.assert(
      fc.property(candidate, (v) => {
        const fast = plainLine(v);
        let full: unknown;
        try {
          full = checkedLine(v, 'lines[0]');
        } catch {
          full = undefined;
        }
        if (fast !== undefined) expect(fast).toEqual(full);
      }),
      { numRuns: 3000 },
    );
  });
});
