/**
 * A projector process killed with SIGKILL in the middle of a batch loses that batch's work and its
 * checkpoint move together; restarted, it applies the rest, and every event is applied exactly once.
 * The projector runs in a real child process: test/support/event-store-projector-child.ts, compiled by
 * scripts/build.mjs in beforeAll.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database';
import { readEverything, testPool } from '../../../test/support/event-store-testing';
import { EventStore } from './event-store';
import { START, type Cursor } from './types';

const repoRoot = path.resolve(__dirname, '../../..');
const childScript = path.join(repoRoot, 'dist/test/support/event-store-projector-child.js');
const EVENTS = 400;
const BATCH_SIZE = 50; // as in the child script
const STALL_AFTER = 120; // in the third batch: two batches committed, twenty applies uncommitted

interface Child {
  process: ChildProcess;
  lines: string[];
  /** Resolves with the first stdout line equal to `line`; rejects if the process exits first. */
  waitForLine(line: string): Promise<void>;
  exited: Promise<number | null>;
}

function startChild(args: string[]): Child {
  const child = spawn(process.execPath, [childScript, ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const waiters: Array<{ line: string; resolve: () => void }> = [];
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    lines.push(line);
    for (const w of waiters.filter((w) => w.line === line)) w.resolve();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    process: child,
    lines,
    exited,
    waitForLine: (line) =>
      new Promise<void>((resolve, reject) => {
        if (lines.includes(line)) return resolve();
        waiters.push({ line, resolve });
        void exited.then((code) => reject(new Error(`child exited (${code}) before printing "${line}": ${stderr}`)));
      }),
  };
}

describe('a projector process killed mid-batch', () => {
  let db: TestDatabase;
  let pool: Pool;
  let store: EventStore;
  const children: Child[] = [];

  beforeAll(async () => {
    execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: repoRoot, stdio: 'pipe' });
    db = await createTestDatabase();
    pool = testPool(db.url, 4);
    store = new EventStore(pool);
  });

  afterAll(async () => {
    for (const c of children) c.process.kill('SIGKILL');
    await store.close();
    await pool.end();
    await db.drop();
  });

  const checkpoint = async (): Promise<Cursor | undefined> =>
    (await pool.query<Cursor>(`SELECT transaction_id::text AS "transactionId", global_position::text AS position FROM projection_checkpoints WHERE name = 'crash-counter'`)).rows[0];
  const applied = async () =>
    (await pool.query<{ event_id: string; applies: number }>('SELECT event_id::text, applies FROM crash_applies ORDER BY position')).rows;

  it('resumes after a restart without applying anything twice or losing anything', async () => {
    await pool.query('CREATE TABLE crash_applies (event_id uuid PRIMARY KEY, position bigint NOT NULL, applies int NOT NULL)');
    for (let i = 0; i < EVENTS / 10; i++) {
      await store.append(`crash-${i % 7}`, 'test', 'any', Array.from({ length: 10 }, (_, j) => ({ type: 'Ticked', data: { i, j } })));
    }
    const order = (await readEverything(store, START)).events.map((e) => e.eventId);
    expect(order).toHaveLength(EVENTS);
    const eventAt = async (n: number) => (await pool.query<Cursor>(
      `SELECT transaction_id::text AS "transactionId", global_position::text AS position FROM events WHERE metadata->>'eventId' = $1`, [order[n - 1]],
    )).rows[0];

    const first = startChild([db.url, String(STALL_AFTER)]);
    children.push(first);
    await first.waitForLine('stalled');
    first.process.kill('SIGKILL');
    expect(await first.exited).toBeNull();
    expect(first.lines).toContain(`applied ${STALL_AFTER}`);

    // Only the two committed batches survive, and the checkpoint sits exactly at their end.
    expect((await applied()).map((r) => r.event_id)).toEqual(order.slice(0, 2 * BATCH_SIZE));
    expect(await checkpoint()).toEqual(await eventAt(2 * BATCH_SIZE));

    const second = startChild([db.url]);
    children.push(second);
    await second.waitForLine('caught up');
    expect(await second.exited).toBe(0);
    expect(second.lines).toContain(`applied ${EVENTS - 2 * BATCH_SIZE}`);
    expect(second.lines).not.toContain(`applied ${EVENTS - 2 * BATCH_SIZE + 1}`);

    const rows = await applied();
    expect(rows.map((r) => r.event_id)).toEqual(order);
    expect(rows.every((r) => r.applies === 1)).toBe(true);
    expect(await checkpoint()).toEqual(await eventAt(EVENTS));
    expect(await checkpoint()).toEqual(await store.headCursor());
  });
});
