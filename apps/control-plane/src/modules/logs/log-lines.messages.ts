/**
 * The `logs:lines` message and the rules a batch must keep (seed 3). Lines arrive sanitised by the
 * agent; the control plane still refuses, whole, a batch that breaks a rule: nothing of it is stored.
 */
import type { LogLine, LogLinesMsg } from '@berth/contracts';
import { LOG_LINE_MAX_BYTES } from '@berth/core';
import { bad, bool, isoDate, list, message, object, oneOf, text, uuid, type Check } from '../../common/checks';

/** Most lines one `logs:lines` message may carry. */
export const MAX_LOG_LINES_PER_BATCH = 5_000;

const seq: Check<number> = (v, path) => {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) throw bad(path, 'must be a whole number from 1 (the container\'s line number)');
  return v;
};

/** At most LOG_LINE_MAX_BYTES of UTF-8 and no NUL byte. */
const lineText: Check<string> = (v, path) => {
  const s = text(LOG_LINE_MAX_BYTES, true)(v, path);
  if (Buffer.byteLength(s, 'utf8') > LOG_LINE_MAX_BYTES) throw bad(path, `must be at most ${LOG_LINE_MAX_BYTES} bytes of UTF-8 (cut it and set truncated)`);
  if (s.includes('\0')) throw bad(path, 'must not contain a NUL byte');
  return s;
};

const line: Check<LogLine> = object({ seq, ts: isoDate, stream: oneOf('stdout', 'stderr'), text: lineText, truncated: bool });

const batch: Check<LogLinesMsg> = object({
  containerId: text(200),
  appId: uuid,
  deploymentId: uuid,
  lines: list(line, MAX_LOG_LINES_PER_BATCH),
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
