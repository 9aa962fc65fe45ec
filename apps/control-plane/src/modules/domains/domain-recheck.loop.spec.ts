import { FakeClock, noopLogger } from '@berth/core';
import { describe, expect, it } from 'vitest';
import type { LeaderLock } from '../scheduler/leader-lock';
import { DomainRecheckLoop } from './domain-recheck.loop';

class FakeLock implements LeaderLock {
  constructor(public free = true) {}
  held = false;
  async tryAcquire() {
    if (!this.held && this.free) this.held = true;
    return this.held;
  }
  isHeld() {
    return this.held;
  }
  async release() {
    this.held = false;
  }
}

function harness(lock: FakeLock, recheck: () => Promise<{ checked: number; unrouted: number }> = async () => ({ checked: 1, unrouted: 0 })) {
  const clock = new FakeClock();
  let passes = 0;
  const loop = new DomainRecheckLoop({
    lock,
    clock,
    intervalMs: 60_000,
    recheck: () => {
      passes++;
      return recheck();
    },
    logger: noopLogger,
  });
  return { loop, clock, passes: () => passes };
}

describe('DomainRecheckLoop', () => {
  it('given the lock is free / when the interval passes / then it takes the lock and re-checks, once per interval', async () => {
    const h = harness(new FakeLock());
    h.loop.start();
    h.clock.advance(59_999);
    await h.loop.idle();
    expect(h.passes()).toBe(0);
    h.clock.advance(1);
    await h.loop.idle();
    expect(h.passes()).toBe(1);
    h.clock.advance(60_000);
    await h.loop.idle();
    expect(h.passes()).toBe(2);
    await h.loop.stop();
  });

  it('given another replica holds the lock / then it never re-checks', async () => {
    const h = harness(new FakeLock(false));
    h.loop.start();
    h.clock.advance(180_000);
    await h.loop.idle();
    expect(h.passes()).toBe(0);
    await h.loop.stop();
  });

  it('a failing pass is retried at the next interval; stop releases the lock and ends the timer', async () => {
    const lock = new FakeLock();
    let fail = true;
    const h = harness(lock, async () => {
      if (fail) throw new Error('db down');
      return { checked: 0, unrouted: 0 };
    });
    h.loop.start();
    h.clock.advance(60_000);
    await h.loop.idle();
    fail = false;
    h.clock.advance(60_000);
    await h.loop.idle();
    expect(h.passes()).toBe(2);
    await h.loop.stop();
    expect(lock.held).toBe(false);
    h.clock.advance(600_000);
    await h.loop.idle();
    expect(h.passes()).toBe(2);
  });
});
