import { MAX_SOCKET_MESSAGE_BYTES } from '@berth/contracts';
import { describe, expect, it } from 'vitest';
import type { JobEvent, JobMessages, JobReporter } from './job-reporter';
import { LogBatcher } from './log-batcher';

class Recorder implements JobReporter {
  readonly sent: { event: JobEvent; msg: unknown }[] = [];
  report<E extends JobEvent>(event: E, msg: JobMessages[E]): void {
    this.sent.push({ event, msg });
  }
}

describe('LogBatcher', () => {
  it('sends full batches at once and the rest on flush, with a per-job increasing seq', () => {
    const rec = new Recorder();
    const at = new Date('2025-01-01T00:00:00Z');
    const batcher = new LogBatcher('j1', rec, () => at, { maxLines: 2, maxDelayMs: 60_000 });
    ['a', 'b', 'c'].forEach((l) => batcher.push(l));
    expect(rec.sent).toHaveLength(1);
    batcher.flush();
    batcher.flush();
    const batches = rec.sent.map((s) => (s.msg as JobMessages['job:log']).lines.map((l) => [l.seq, l.line]));
    expect(batches).toEqual([[[1, 'a'], [2, 'b']], [[3, 'c']]]);
    expect((rec.sent[0]!.msg as JobMessages['job:log']).lines[0]!.at).toBe('2025-01-01T00:00:00.000Z');
  });

  it('sanitises lines, cuts very long ones at a character boundary, and keeps the last lines for a failure tail', () => {
    const rec = new Recorder();
    const batcher = new LogBatcher('j1', rec, undefined, { maxLineBytes: 5, keepLast: 2 });
    ['\u001b[32m1234\u0000é7\u001b[0m', 'x', 'y'].forEach((l) => batcher.push(l));
    batcher.flush();
    expect((rec.sent[0]!.msg as JobMessages['job:log']).lines[0]!.line).toBe('1234');
    expect(batcher.tail()).toEqual(['x', 'y']);
  });

  it('keeps each job:log message under the control plane\'s message limit when a build prints binary output', () => {
    const rec = new Recorder();
    const batcher = new LogBatcher('j1', rec);
    // 300 lines of 8 KiB of control characters: six bytes each in JSON, 14 MB in all.
    for (let i = 0; i < 300; i++) batcher.push('\u0001'.repeat(8_192));
    batcher.flush();
    const sent = rec.sent.map((s) => s.msg as JobMessages['job:log']);
    expect(sent.flatMap((m) => m.lines)).toHaveLength(300);
    for (const msg of sent) expect(Buffer.byteLength(`421234567890${JSON.stringify(['job:log', msg])}`)).toBeLessThanOrEqual(MAX_SOCKET_MESSAGE_BYTES);
  });
});
