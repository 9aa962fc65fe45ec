/**
 * A Clock for tests: time stands still until advance() moves it, firing due timers in order.
 * Part of the library (not a spec file) so every module's tests use the same one.
 */
import type { Clock, TimerHandle } from './clock';

interface Timer {
  id: number;
  at: number;
  fn: () => void;
  every?: number;
}

export class FakeClock implements Clock {
  private t: number;
  private nextId = 1;
  private timers = new Map<number, Timer>();

  constructor(start: Date | string | number = '2026-01-01T00:00:00.000Z') {
    this.t = new Date(start).getTime();
  }

  now(): Date {
    return new Date(this.t);
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    return this.add(fn, ms);
  }

  setInterval(fn: () => void, ms: number): TimerHandle {
    return this.add(fn, ms, Math.max(1, ms));
  }

  clearTimeout(handle: TimerHandle | undefined): void {
    if (handle !== undefined) this.timers.delete(handle as unknown as number);
  }

  clearInterval(handle: TimerHandle | undefined): void {
    this.clearTimeout(handle);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const handle = this.setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      const onAbort = () => {
        this.clearTimeout(handle);
        reject(signal!.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Timers waiting to fire. */
  get pending(): number {
    return this.timers.size;
  }

  /** Moves time forward by ms, firing every timer that falls due, in time order. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const due = [...this.timers.values()].filter((x) => x.at <= end).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.t = Math.max(this.t, due.at);
      if (due.every) due.at += due.every;
      else this.timers.delete(due.id);
      due.fn();
    }
    this.t = end;
  }

  /** advance(), then lets promise callbacks that the timers started run. */
  async tick(ms: number): Promise<void> {
    this.advance(ms);
    for (let i = 0; i < 10; i++) await Promise.resolve();
  }

  /** Sets the time (forward only), firing due timers. */
  set(to: Date | string | number): void {
    this.advance(Math.max(0, new Date(to).getTime() - this.t));
  }

  private add(fn: () => void, ms: number, every?: number): TimerHandle {
    const id = this.nextId++;
    this.timers.set(id, { id, at: this.t + Math.max(0, ms), fn, every });
    return id as unknown as TimerHandle;
  }
}
