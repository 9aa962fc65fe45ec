import { InvalidCursorError } from './errors';
import type { Cursor } from './types';

const MAX_XID8 = 2n ** 64n - 1n;
const MAX_POSITION = 2n ** 63n - 1n;
const PLAIN = /^v1:(0|[1-9]\d{0,19}):(0|[1-9]\d{0,18})$/;

/** An opaque, URL-safe string for a cursor (the HTTP API's `after` parameter). */
export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(`v1:${cursor.transactionId}:${cursor.position}`, 'utf8').toString('base64url');
}

/** The inverse of encodeCursor; anything else throws InvalidCursorError. */
export function decodeCursor(encoded: string): Cursor {
  if (typeof encoded !== 'string' || encoded.length === 0 || encoded.length > 64) throw new InvalidCursorError(String(encoded));
  const plain = Buffer.from(encoded, 'base64url').toString('utf8');
  // Node's base64 decoder skips characters it does not know; only a canonical encoding is accepted.
  if (Buffer.from(plain, 'utf8').toString('base64url') !== encoded) throw new InvalidCursorError(encoded);
  const m = PLAIN.exec(plain);
  if (!m || BigInt(m[1]) > MAX_XID8 || BigInt(m[2]) > MAX_POSITION) throw new InvalidCursorError(encoded);
  return { transactionId: m[1], position: m[2] };
}

/** Negative when a comes before b in the log's (transactionId, position) order, 0 when equal. */
export function compareCursors(a: Cursor, b: Cursor): number {
  const tx = BigInt(a.transactionId) - BigInt(b.transactionId);
  if (tx !== 0n) return tx < 0n ? -1 : 1;
  const pos = BigInt(a.position) - BigInt(b.position);
  return pos === 0n ? 0 : pos < 0n ? -1 : 1;
}

/** The cursor of an append's last event: a reader at or past it has seen the whole append. */
export function cursorOfAppend(append: { transactionId: string; positions: readonly string[] }): Cursor {
  if (append.positions.length === 0) throw new RangeError('an append without events has no cursor');
  const last = append.positions.reduce((max, p) => (BigInt(p) > BigInt(max) ? p : max));
  return { transactionId: append.transactionId, position: last };
}
