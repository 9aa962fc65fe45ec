import fc from 'fast-check';
import { FakeClock, LOG_LINE_MAX_BYTES } from '@berth/core';
import { MAX_SOCKET_MESSAGE_BYTES, type LogLine, type LogLinesMsg } from '@berth/contracts';
import { describe, expect, it } from 'vitest';
import type { LogChunk } from '../runtimes/runtime';
import { ContainerLog, lineJsonBytes } from './container-log';
import type { ContainerLogDeps } from './container-log';
import type { LogCursor } from './log-cursor-store';
import { MemorySink, chunk } from './telemetry.testing';

const ref = { containerId: 'c1', appId: 'a1', deploymentId: 'd1' };

function setup(from?: LogCursor, options = {}, autoAck = true) {
  const clock = new FakeClock();
  const sink = new MemorySink(autoAck);
  const cursors: LogCursor[] = [];
  const counters = { droppedLines: 0, droppedBatches: 0 };
  const deps: ContainerLogDeps = { sink, clock, counters, onCursor: (c) => cursors.push(c) };
  const log = new ContainerLog(ref, from, deps, options);
  return { clock, sink, cursors, counters, log };
}

const view = (lines: LogLine[]) => lines.map((l) => [l.seq, l.stream, l.text]);

describe('ContainerLog', () => {
  it('numbers the lines of both streams from 1 and sends them after the flush delay, in one batch', () => {
    const { clock, sink, log } = setup();
    log.accept([chunk('stdout', 1, 'one\n'), chunk('stderr', 2, 'two\n'), chunk('stdout', 3, 'thr'), chunk('stdout', 4, 'ee\n')]);
    expect(sink.sent).toHaveLength(0);
    clock.advance(250);
    expect(sink.sent).toHaveLength(1);
    const msg = sink.sent[0]!.msg as LogLinesMsg;
    expect(msg).toMatchObject({ containerId: 'c1', appId: 'a1', deploymentId: 'd1' });
    expect(view(msg.lines)).toEqual([
      [1, 'stdout', 'one'],
      [2, 'stderr', 'two'],
      [3, 'stdout', 'three'],
    ]);
    expect(msg.lines[0]!.ts).toBe(chunk('stdout', 1, '').ts);
    expect(sink.sent[0]!.opts?.droppable).toBe(true);
  });

  it('moves its cursor only past batches the control plane took, in order, so a crash re-reads what was unsent', () => {
    const { clock, sink, cursors, log } = setup(undefined, { maxBatchLines: 1 }, false);
    log.accept([chunk('stdout', 1, 'a\n'), chunk('stdout', 2, 'b\n'), chunk('stdout', 3, 'c\n')]);
    clock.advance(250);
    expect(sink.sent).toHaveLength(3);
    expect(cursors).toEqual([]);
    sink.ack(1); // acknowledged out of order: the cursor still waits for the first
    expect(cursors).toEqual([]);
    sink.ack(0);
    // Never past a line that was not taken: the first two are, the third is not yet.
    expect(cursors.length).toBeGreaterThan(0);
    expect(cursors.at(-1)!.seq).toBeLessThanOrEqual(2);
    sink.drop(2); // dropped (and marked): taken, as far as the cursor goes
    log.finish();
    clock.advance(250);
    sink.ack(sink.sent.length - 1); // the gap marker's batch (the dropped one left the list)
    expect(cursors.at(-1)!.seq).toBeGreaterThanOrEqual(3);
  });

  it('sends a full batch at once', () => {
    const { sink, log } = setup(undefined, { maxBatchLines: 2 });
    log.accept([chunk('stdout', 1, 'a\nb\nc\n')]);
    expect(sink.sent.map((s) => view((s.msg as LogLinesMsg).lines))).toEqual([[[1, 'stdout', 'a'], [2, 'stdout', 'b']]]);
  });

  it('sends 1,000 waiting lines at once while the connection is idle; while it is busy, lines gather towards a full batch', () => {
    const { clock, sink, log } = setup();
    const lines = (from: number, n: number) => chunk('stdout', from, Array.from({ length: n }, (_, i) => `l${from + i}\n`).join(''));
    sink.isIdle = true;
    log.accept([lines(1, 2_500)]);
    expect(sink.sent.map((s) => (s.msg as LogLinesMsg).lines.length)).toEqual([1_000, 1_000]);
    sink.isIdle = false;
    log.accept([lines(2_501, 5_000)]);
    // The 500 left from before and 4,500 more make a full batch; the rest waits for the delay.
    expect(sink.sent.map((s) => (s.msg as LogLinesMsg).lines.length)).toEqual([1_000, 1_000, 5_000]);
    clock.advance(250);
    expect(sink.sent.map((s) => (s.msg as LogLinesMsg).lines.length)).toEqual([1_000, 1_000, 5_000, 500]);
    expect(sink.logLines().map((l) => l.seq)).toEqual(Array.from({ length: 7_500 }, (_, i) => i + 1));
  });

  it('sanitises on the worker and caps a 1 MiB line that arrives in 16 KiB pieces sharing one stamp', () => {
    const { sink, log } = setup();
    const pieces = Array.from({ length: 64 }, () => chunk('stdout', 5, Buffer.alloc(16 * 1024, 'x')));
    log.accept([chunk('stdout', 1, '\u001b[31mred\u001b[0m \u001b]0;title\u0007ok\u0000\n'), ...pieces, chunk('stdout', 5, '\n'), chunk('stdout', 6, Buffer.from([0x66, 0xff, 0x0a]))]);
    log.finish();
    const lines = sink.logLines();
    expect(lines.map((l) => [l.seq, l.text.length, l.truncated])).toEqual([
      [1, 6, false],
      [2, LOG_LINE_MAX_BYTES, true],
      [3, 2, false],
    ]);
    expect(lines[0]!.text).toBe('red ok');
    expect(lines[2]!.text).toBe('f\ufffd');
  });

  it('keeps every batch under the control plane\'s message limit, even of binary output whose JSON is six times its text', () => {
    const { sink, log } = setup();
    // Control characters (a six-byte escape each in JSON), invalid UTF-8 (three bytes each once
    // replaced), quotes and plain text, in 8 KiB lines: 100 of each, far more than one batch.
    const kinds = [Buffer.alloc(8_192, 0x01), Buffer.alloc(8_192, 0xff), Buffer.alloc(8_192, 0x22), Buffer.alloc(8_192, 0x61)];
    log.accept(Array.from({ length: 400 }, (_, i) => chunk('stdout', i + 1, Buffer.concat([kinds[Math.floor(i / 100)]!, Buffer.from('\n')]))));
    log.finish();
    expect(sink.logLines()).toHaveLength(400);
    for (const { msg } of sink.sent) {
      // What socket.io sends: `42<ack id>["logs:lines",<msg>]`.
      expect(Buffer.byteLength(`421234567890${JSON.stringify(['logs:lines', msg])}`)).toBeLessThanOrEqual(MAX_SOCKET_MESSAGE_BYTES);
    }
    expect(sink.sent.length).toBeGreaterThan(5);
  });

  it('counts each line at least as large as its JSON, whatever its text', () => {
    const texts = fc.oneof(fc.string({ unit: 'binary', maxLength: 300 }), fc.string({ unit: fc.integer({ min: 0, max: 0x7f }).map((c) => String.fromCharCode(c)), maxLength: 300 }));
    const stamps = fc.constantFrom('2026-12-03T18:29:38.724877658Z', '2026-12-03T18:29:38Z', '2026-12-03T18:29:38.5+01:00');
    fc.assert(
      fc.property(texts, stamps, fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), fc.constantFrom('stdout' as const, 'stderr' as const), fc.boolean(), (text, ts, seq, stream, truncated) => {
        const line: LogLine = { seq, ts, stream, text, truncated };
        // The line and the comma after it in the batch's array.
        expect(lineJsonBytes(ts, text)).toBeGreaterThanOrEqual(Buffer.byteLength(JSON.stringify(line)) + 1);
      }),
      { numRuns: 2_000 },
    );
  });

  it('on finish, an unterminated last line is still a line', () => {
    const { sink, log } = setup();
    log.accept([chunk('stdout', 1, 'done\nno newline')]);
    log.finish();
    expect(view(sink.logLines())).toEqual([
      [1, 'stdout', 'done'],
      [2, 'stdout', 'no newline'],
    ]);
  });

  it('after a drop, counts it and writes a marker line with its own seq where the gap is', () => {
    const { clock, sink, counters, log } = setup();
    log.accept([chunk('stdout', 1, 'a\nb\n')]);
    clock.advance(250);
    log.accept([chunk('stdout', 2, 'c\n')]);
    clock.advance(250);
    sink.drop(0); // the outbox dropped the batch with a and b
    expect(counters).toEqual({ droppedLines: 2, droppedBatches: 1 });
    clock.advance(250);
    const lines = sink.logLines();
    expect(lines.map((l) => l.seq)).toEqual([3, 4]);
    expect(lines[1]!.text).toBe(
      "[berth] 2 log lines were dropped here (lines 1-2): the control plane was unreachable and the agent's buffer (BERTH_LOG_BUFFER_BYTES) was full",
    );
    expect(lines[1]!.ts).toBe(chunk('stdout', 1, '').ts);
  });

  it('a dropped marker is counted into the next one, sent after a longer wait', () => {
    const { clock, sink, counters, log } = setup(undefined, { markerRetryMs: 5_000 });
    log.accept([chunk('stdout', 1, 'a\n')]);
    clock.advance(250);
    sink.drop(0);
    clock.advance(250);
    expect(sink.logLines().map((l) => l.seq)).toEqual([2]);
    sink.drop(0); // the marker too
    clock.advance(250);
    expect(sink.sent).toHaveLength(0);
    clock.advance(5_000);
    expect(sink.logLines()).toEqual([expect.objectContaining({ seq: 3, text: expect.stringContaining('2 log lines were dropped here (lines 1-2)') })]);
    expect(counters).toEqual({ droppedLines: 1, droppedBatches: 2 }); // app lines; the marker is not one
  });
});

/** Lines as the control plane keeps them: one per (container, seq). */
function bySeq(lines: LogLine[]): Map<number, string> {
  const m = new Map<number, string>();
  for (const l of lines) {
    if (m.has(l.seq)) expect(m.get(l.seq)).toBe(l.text);
    m.set(l.seq, l.text);
  }
  return m;
}

/** Docker's `since` is inclusive: a resumed follower gets every chunk stamped at or after it. */
function replayFrom(all: LogChunk[], since?: string): LogChunk[] {
  return all.filter((c) => !since || c.ts >= since);
}

/** Ships `all` in two runs of the agent, the first stopped after `stopAt` chunks; and in one run. */
function shipInTwoRuns(all: LogChunk[], stopAt: number): { shipped: LogLine[]; whole: LogLine[] } {
  const first = setup();
  first.log.accept(all.slice(0, stopAt));
  first.log.flush();
  const cursor = first.cursors.at(-1);
  const second = setup(cursor);
  expect(second.log.since === undefined).toBe(cursor === undefined);
  second.log.accept(replayFrom(all, second.log.since));
  second.log.flush();
  const whole = setup();
  whole.log.accept(all);
  whole.log.flush();
  return { shipped: [...first.sink.logLines(), ...second.sink.logLines()], whole: whole.sink.logLines() };
}

describe('ContainerLog resumes where it stopped', () => {
  // Whole lines per chunk (Docker writes one message per line), many sharing a stamp.
  const output = fc
    .array(fc.tuple(fc.constantFrom<'stdout' | 'stderr'>('stdout', 'stderr'), fc.nat(3), fc.string({ maxLength: 8 })), { minLength: 1, maxLength: 40 })
    .map((items) => {
      let t = 1;
      return items.map(([stream, step, text]) => chunk(stream, (t += step), `${text}\n`));
    });

  it('no line shipped twice, none skipped, seqs 1..n without gaps, for any stop point and same-stamp lines', () => {
    fc.assert(
      fc.property(output, fc.nat(), (all, at) => {
        const { shipped, whole } = shipInTwoRuns(all, at % (all.length + 1));
        expect(view(shipped)).toEqual(view(whole));
        expect(shipped.map((l) => l.seq)).toEqual(shipped.map((_, i) => i + 1));
      }),
      { numRuns: 300 },
    );
  });

  // Docker stamps each stream's output as it reads it and writes both into one file: within a stream
  // the stamps grow, but a stderr chunk may land after stdout chunks stamped later than it.
  const interleaved = fc
    .array(fc.tuple(fc.constantFrom<'stdout' | 'stderr'>('stdout', 'stderr'), fc.nat(3), fc.nat(4), fc.string({ maxLength: 8 })), { minLength: 1, maxLength: 40 })
    .map((items) => {
      let t = 1;
      let stderrKey = 0;
      const stamped = items.map(([stream, step, lag, text], i) => {
        // Where it lands in the file: stdout at once, stderr up to 4 places late, never before its own predecessor.
        const key = stream === 'stdout' ? i : (stderrKey = Math.max(stderrKey, i + lag));
        return { key, i, c: chunk(stream, (t += step), `${text}\n`) };
      });
      return stamped.sort((x, y) => x.key - y.key || x.i - y.i).map((x) => x.c);
    });

  it('no line shipped twice, none skipped, when the file order of the two streams differs from their stamps', () => {
    fc.assert(
      fc.property(interleaved, fc.nat(), (all, at) => {
        const { shipped, whole } = shipInTwoRuns(all, at % (all.length + 1));
        expect(view(shipped)).toEqual(view(whole));
      }),
      { numRuns: 500 },
    );
  });

  it('a line split over chunks when the agent stopped is read again whole, under the same seqs', () => {
    const all = [chunk('stdout', 1, 'a\n'), chunk('stdout', 2, 'long '), chunk('stderr', 3, 'err\n'), chunk('stdout', 4, 'line\n'), chunk('stdout', 5, 'b\n')];
    const first = setup();
    first.log.accept(all.slice(0, 3));
    first.log.flush();
    const second = setup(first.cursors.at(-1));
    second.log.accept(replayFrom(all, second.log.since));
    second.log.flush();
    const kept = bySeq([...first.sink.logLines(), ...second.sink.logLines()]);
    expect([...kept.entries()]).toEqual([
      [1, 'a'],
      [2, 'err'],
      [3, 'long line'],
      [4, 'b'],
    ]);
  });
});
