import { describe, expect, it } from 'vitest';
import { Outbox } from './outbox';

const log = (jobId: string, seq: number) => ({ jobId, lines: [{ seq, line: `line ${seq}`, at: '2025-01-01T00:00:00.000Z' }] });

describe('Outbox', () => {
  it('keeps messages in order until each is acknowledged', () => {
    const box = new Outbox(10);
    box.push('job:started', { jobId: 'j1', phase: 'building' });
    box.push('job:log', log('j1', 1), { droppable: true });
    const head = box.peek()!;
    expect(head.kind).toBe('job:started');
    box.remove(head.id);
    expect(box.peek()!.kind).toBe('job:log');
    box.remove(head.id);
    expect(box.size).toBe(1);
  });

  it('when full drops the oldest log batch first and never a result', () => {
    const box = new Outbox(3);
    box.push('job:log', log('j1', 1), { droppable: true });
    box.push('job:started', { jobId: 'j1', phase: 'building' });
    box.push('job:log', log('j1', 2), { droppable: true });
    expect(box.push('job:succeeded', { jobId: 'j1', containerId: 'c', hostPort: 20_000 })).toBe(1);
    expect(box.snapshot().map((e) => e.kind)).toEqual(['job:started', 'job:log', 'job:succeeded']);
    expect((box.snapshot()[1]!.msg as ReturnType<typeof log>).lines[0]!.seq).toBe(2);
    box.push('job:failed', { jobId: 'j2', reason: 'r', logTail: [] });
    expect(box.snapshot().map((e) => e.kind)).toEqual(['job:started', 'job:succeeded', 'job:failed']);
  });

  it('grows past the limit rather than lose a result, and refuses further log batches meanwhile', () => {
    const box = new Outbox(2);
    box.push('job:started', { jobId: 'j1', phase: 'starting' });
    box.push('job:image-built', { jobId: 'j1', image: 'i' });
    expect(box.push('job:log', log('j1', 1), { droppable: true })).toBe(1);
    box.push('job:failed', { jobId: 'j1', reason: 'r', logTail: [] });
    expect(box.snapshot().map((e) => e.kind)).toEqual(['job:started', 'job:image-built', 'job:failed']);
    expect(box.dropped).toBe(1);
  });

  it('keeps to its byte bound by dropping the oldest droppable messages, telling their senders', () => {
    const line = (seq: number) => ({ seq, text: 'x'.repeat(1000) });
    const told: number[] = [];
    const box = new Outbox(1_000, 3_500);
    for (let seq = 1; seq <= 5; seq++) box.push('logs:lines', line(seq), { droppable: true, onDrop: () => told.push(seq) });
    expect(told).toEqual([1, 2]);
    expect(box.snapshot().map((e) => (e.msg as { seq: number }).seq)).toEqual([3, 4, 5]);
    expect(box.bytes).toBeLessThanOrEqual(3_500);
    // A result is never dropped: the bound gives way, and log lines make room first.
    box.push('job:failed', { jobId: 'j', reason: 'x'.repeat(3_000), logTail: [] });
    expect(box.snapshot().map((e) => e.kind)).toEqual(['job:failed']);
    expect(told).toEqual([1, 2, 3, 4, 5]);
    expect(box.dropped).toBe(5);
    box.remove(box.peek()!.id);
    expect(box.bytes).toBe(0);
  });
});
