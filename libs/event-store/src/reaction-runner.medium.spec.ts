/**
 * Durable reactions: a reaction that was down while events were appended handles each of them once
 * when it comes back; one that crashes mid-event (a real process, SIGKILLed inside its handler)
 * handles that event again and skips nothing; a failing handler is retried on the same event; two
 * runners with one lock never both work.
 */
import { execFileSync, spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database';
import { testPool } from '../../../test/support/event-store-testing';
import { PgAdvisoryLock } from '../../../apps/control-plane/src/common/leader-lock';
import { EventStore } from './event-store';
import { ReactionRunner, type Reaction, type ReactionLock } from './reaction-runner';
import type { StoredEvent } from './types';

const repoRoot = path.resolve(__dirname, '../../..');
const childScript = path.join(repoRoot, 'dist/test/support/event-store-reaction-child.js');
const alwaysHeld: ReactionLock = { tryAcquire: async () => true, isHeld: () => true, release: async () => undefined };

/** Resolves once `done()` holds, checking after every handled event (no sleeps). */
function until(done: () => boolean): { check(): void; promise: Promise<void> } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  const check = () => done() && resolve();
  check();
  return { check, promise };
}

describe('ReactionRunner (real PostgreSQL)', () => {
  let db: TestDatabase;
  let pool: Pool;
  let store: EventStore;

  beforeAll(async () => {
    execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: repoRoot, stdio: 'pipe' });
    db = await createTestDatabase();
    pool = testPool(db.url, 6);
    store = new EventStore(pool);
  });
  afterAll(async () => {
    await store.close();
    await pool.end();
    await db.drop();
  });

  const tick = (stream: string, n: number) => store.append(stream, 'test', 'any', [{ type: 'Ticked', data: { n } }]);

  it('handles, once each and in order, the events appended while it was down', async () => {
    const seen: string[] = [];
    let waiter = until(() => false);
    const reaction: Reaction = {
      name: 'down-and-back',
      handles: ['Ticked'],
      async handle(event: StoredEvent) {
        seen.push(event.eventId);
        waiter.check();
      },
    };
    for (let n = 0; n < 10; n++) await tick('down-a', n);
    await store.append('down-other', 'test', 'any', [{ type: 'Ignored', data: {} }]);
    const first = new ReactionRunner(pool, store, [reaction], { lockOf: () => alwaysHeld, pollIntervalMs: 50 });
    waiter = until(() => seen.length >= 10);
    first.start();
    await waiter.promise;
    await first.stop();

    for (let n = 10; n < 40; n++) await tick(`down-${n % 3}`, n);
    expect(seen).toHaveLength(10);

    const second = new ReactionRunner(pool, store, [reaction], { lockOf: () => alwaysHeld, pollIntervalMs: 50 });
    waiter = until(() => seen.length >= 40);
    second.start();
    await waiter.promise;
    const head = await store.headCursor();
    const all = (await store.readAll({ transactionId: '0', position: '0' }, 1000)).events.filter((e) => e.type === 'Ticked');
    expect(seen).toEqual(all.map((e) => e.eventId));
    expect(new Set(seen).size).toBe(40);
    await second.stop();
    expect(await second.checkpoint('down-and-back')).toEqual(head);
  });

  it('hands a failing event back until its handler succeeds, holding the later ones behind it', async () => {
    const attempts = new Map<number, number>();
    const order: number[] = [];
    let waiter = until(() => false);
    const reaction: Reaction = {
      name: 'flaky',
      handles: ['Ticked'],
      async handle(event) {
        const n = (event.data as { n: number }).n;
        if (!String(event.streamId).startsWith('flaky-')) return;
        attempts.set(n, (attempts.get(n) ?? 0) + 1);
        if (n === 2 && attempts.get(n)! < 3) throw new Error('receiver down');
        order.push(n);
        waiter.check();
      },
    };
    for (let n = 0; n < 5; n++) await tick('flaky-a', n);
    const runner = new ReactionRunner(pool, store, [reaction], { lockOf: () => alwaysHeld, pollIntervalMs: 50, retry: { minMs: 5, maxMs: 20 } });
    waiter = until(() => order.length >= 5);
    runner.start();
    await waiter.promise;
    await runner.stop();
    expect(order).toEqual([0, 1, 2, 3, 4]);
    expect(attempts.get(2)).toBe(3);
    expect([0, 1, 3, 4].map((n) => attempts.get(n))).toEqual([1, 1, 1, 1]);
  });

  it('runs on one replica at a time: a second runner with the same lock waits until the first lets go', async () => {
    const handledBy: string[] = [];
    let waiter = until(() => false);
    const reaction = (who: string): Reaction => ({
      name: 'single',
      handles: ['Ticked'],
      async handle(event) {
        if (!event.streamId.startsWith('single-')) return;
        handledBy.push(who);
        waiter.check();
      },
    });
    const lockA = new PgAdvisoryLock(db.url, [0x62657274, 4242]);
    const lockB = new PgAdvisoryLock(db.url, [0x62657274, 4242]);
    const a = new ReactionRunner(pool, store, [reaction('a')], { lockOf: () => lockA, pollIntervalMs: 30 });
    const b = new ReactionRunner(pool, store, [reaction('b')], { lockOf: () => lockB, pollIntervalMs: 30 });
    for (let n = 0; n < 5; n++) await tick('single-x', n);
    waiter = until(() => handledBy.length >= 5);
    a.start();
    await waiter.promise;
    b.start();
    for (let n = 5; n < 10; n++) await tick('single-x', n);
    waiter = until(() => handledBy.length >= 10);
    await waiter.promise;
    expect(handledBy).toEqual(Array(10).fill('a'));
    await a.stop();
    for (let n = 10; n < 15; n++) await tick('single-x', n);
    waiter = until(() => handledBy.length >= 15);
    await waiter.promise;
    expect(handledBy.slice(10)).toEqual(Array(5).fill('b'));
    await b.stop();
  });

  it('handles again the event it was killed in the middle of, and skips none', async () => {
    await pool.query('CREATE TABLE reaction_handled (event_id uuid NOT NULL, n int NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())');
    for (let n = 0; n < 60; n++) await store.append(`crash-${n % 4}`, 'test', 'any', [{ type: 'Ticked', data: { n } }]);
    const run = (args: string[]) => {
      const child = spawn(process.execPath, [childScript, db.url, ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
      const lines: string[] = [];
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      const line = (want: string) =>
        new Promise<void>((resolve, reject) => {
          createInterface({ input: child.stdout! }).on('line', (l) => {
            lines.push(l);
            if (l === want) resolve();
          });
          void exited.then((code) => reject(new Error(`child exited (${code}) before "${want}"`)));
        });
      return { child, lines, exited, line };
    };
    const first = run(['37']);
    await first.line('stalled');
    first.child.kill('SIGKILL');
    expect(await first.exited).toBeNull();

    const second = run([]);
    await second.line('caught up');
    expect(await second.exited).toBe(0);

    const { rows } = await pool.query<{ n: number; times: number }>('SELECT n, count(*)::int AS times FROM reaction_handled GROUP BY n ORDER BY n');
    expect(rows.map((r) => r.n)).toEqual(Array.from({ length: 60 }, (_, n) => n));
    expect(rows.filter((r) => r.times !== 1)).toEqual([{ n: 37, times: 2 }]);
    const order = (await pool.query<{ n: number }>('SELECT n FROM reaction_handled ORDER BY at')).rows.map((r) => r.n);
    expect(order).toEqual([...Array.from({ length: 38 }, (_, n) => n), ...Array.from({ length: 23 }, (_, i) => 37 + i)]);
  });
});
