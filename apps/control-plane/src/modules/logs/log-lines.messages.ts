/**
 * The `logs:lines` message and the rules a batch must keep (seed 3). Lines arrive sanitised by the
 * agent; the control plane still refuses, whole, a batch that breaks a rule: nothing of it is stored.
 */
import type { LogLine, LogLinesMsg } from '@berth/contracts';
import { LOG_LINE_MAX_BYTES } from '@berth/core';
import { bad, bool, isIsoDateTime, isoDate, list, message, object, oneOf, text, uuid, type Check } from '../../common/checks';

/** Most lines one `logs:lines` message may carry. */
export const MAX_LOG_LINES_PER_BATCH = 5_000;

const isSeq = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 1;
const seq: Check<number> = (v, path) => {
  if (!isSeq(v)) throw bad(path, 'must be a whole number from 1 (the container\'s line number)');
  return v;
};

/** At most LOG_LINE_MAX_BYTES of UTF-8; a UTF-16 unit is at most 3 bytes of it, so only a long text is counted. */
const fitsLine = (s: string): boolean => s.length * 3 <= LOG_LINE_MAX_BYTES || Buffer.byteLength(s, 'utf8') <= LOG_LINE_MAX_BYTES;

/** At most LOG_LINE_MAX_BYTES of UTF-8 and no NUL byte. */
const lineText: Check<string> = (v, path) => {
  const s = text(LOG_LINE_MAX_BYTES, true)(v, path);
  if (!fitsLine(s)) throw bad(path, `must be at most ${LOG_LINE_MAX_BYTES} bytes of UTF-8 (cut it and set truncated)`);
  if (s.includes('\0')) throw bad(path, 'must not contain a NUL byte');
  return s;
};

/** A line, naming the field at fault when it refuses one. */
export const line: Check<LogLine> = object({ seq, ts: isoDate, stream: oneOf('stdout', 'stderr'), text: lineText, truncated: bool });

/**
 * The same rules as `line`, for the common case: no path string, no intermediate objects, one
 * object out. A line it does not pass goes through `line`, which names the field at fault.
 */
export function plainLine(v: unknown): LogLine | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const { seq, ts, stream, text, truncated } = v as Record<string, unknown>;
  if (!isSeq(seq) || (stream !== 'stdout' && stream !== 'stderr') || typeof truncated !== 'boolean') return undefined;
  if (typeof text !== 'string' || text.length > LOG_LINE_MAX_BYTES || !fitsLine(text) || text.includes('\0')) return undefined;
  if (!isIsoDateTime(ts)) return undefined;
  return { seq, ts, stream, text, truncated };
}

const lines: Check<LogLine[]> = (v, path) => {
  if (!Array.isArray(v) || v.length > MAX_LOG_LINES_PER_BATCH) return list(line, MAX_LOG_LINES_PER_BATCH)(v, path);
  const out = new Array<LogLine>(v.length);
  for (let i = 0; i < v.length; i++) out[i] = plainLine(v[i]) ?? line(v[i], `${path}[${i}]`);
  return out;
};

const batch: Check<LogLinesMsg> = object({
  containerId: text(200),
  appId: uuid,
  deploymentId: uuid,
  lines,
});

export const parseLogLines = (payload: unknown): LogLinesMsg => {
  const msg = message('logs:lines', batch)(payload);
  for (let i = 1; i < msg.lines.length; i++) {
    if (msg.lines[i].seq <= msg.lines[i - 1].seq) {
      throw bad(`lines[${i}].seq`, `must be above the line before it (${msg.lines[i - 1].seq}): a batch is in seq order with no repeats`);
    }
  }
  return msg;
};
