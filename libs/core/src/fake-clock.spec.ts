import { describe, expect, it } from 'vitest';
import { FakeClock } from './fake-clock';

describe('FakeClock', () => {
  it('fires timeouts and intervals in time order as time advances, and not before', () => {
    const clock = new FakeClock('2026-01-01T00:00:00Z');
    const fired: string[] = [];
    clock.setTimeout(() => fired.push(`t300@${clock.now().toISOString()}`), 300);
    const every = clock.setInterval(() => fired.push(`i100@${clock.now().getTime() % 1000}`), 100);
    clock.advance(99);
    expect(fired).toEqual([]);
    clock.advance(251);
    // Due at the same instant: the one set first fires first.
    expect(fired).toEqual(['i100@100', 'i100@200', 't300@2026-01-01T00:00:00.300Z', 'i100@300']);
    clock.clearInterval(every);
    clock.advance(1000);
    expect(fired).toHaveLength(4);
    expect(clock.now().toISOString()).toBe('2026-01-01T00:00:01.350Z');
    expect(clock.pending).toBe(0);
  });

  it('sleep resolves once time reaches it and rejects when aborted first', async () => {
    const clock = new FakeClock(0);
    let woke = false;
    const sleeping = clock.sleep(1000).then(() => (woke = true));
    await clock.tick(999);
    expect(woke).toBe(false);
    await clock.tick(1);
    await sleeping;
    expect(woke).toBe(true);
    const abort = new AbortController();
    const aborted = clock.sleep(1000, abort.signal);
    abort.abort(new Error('stop'));
    await expect(aborted).rejects.toThrow('stop');
    expect(clock.pending).toBe(0);
  });
});
