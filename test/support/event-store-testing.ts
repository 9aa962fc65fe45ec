/**
 * Test helpers for the event store. Late commits are made inside PostgreSQL: a statement trigger on
 * `events` runs after an append's rows have taken their global positions and before its transaction
 * can commit, so it works the same for every append path (one statement or an explicit transaction).
 */
import { Pool } from 'pg';
import type { EventStore } from '../../libs/event-store/src/event-store';
import type { Cursor, StoredEvent } from '../../libs/event-store/src/types';

/**
 * A pool for a test database. Idle connections still closing when the database is dropped
 * (DROP DATABASE … WITH (FORCE)) raise an error on the pool; without a listener that would crash the run.
 */
export function testPool(url: string, max: number): Pool {
  const pool = new Pool({ connectionString: url, max });
  pool.on('error', () => undefined);
  return pool;
}

/** Appends to streams starting with `streamPrefix` sleep up to maxMs, `share` of the time, before they can commit. */
export async function delayCommits(pool: Pool, streamPrefix: string, share: number, maxMs: number): Promise<void> {
  await pool.query(`CREATE FUNCTION test_delay_commit() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF random() < ${Number(share)} AND EXISTS (SELECT 1 FROM inserted WHERE starts_with(stream_id, ${literal(streamPrefix)})) THEN
        PERFORM pg_sleep(random() * ${Number(maxMs)} / 1000.0);
      END IF;
      RETURN NULL;
    END $$`);
  await pool.query(`CREATE TRIGGER test_delay_commit AFTER INSERT ON events REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION test_delay_commit()`);
}

const HOLD_LOCK_KEY = 7_331_000;
let holders = 0;

/**
 * Appends to streams starting with `streamPrefix` wait, after taking their positions and before they
 * can commit, for as long as the test holds an advisory lock. hold() takes the lock on a connection of
 * its own and returns the functions to see that an append is held and to let it go.
 */
export async function holdCommits(pool: Pool, streamPrefix: string): Promise<{ hold(): Promise<HeldCommits> }> {
  const n = ++holders;
  const key = HOLD_LOCK_KEY + n;
  await pool.query(`CREATE FUNCTION test_hold_commit_${n}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF EXISTS (SELECT 1 FROM inserted WHERE starts_with(stream_id, ${literal(streamPrefix)})) THEN
        PERFORM pg_advisory_xact_lock_shared(${key});
      END IF;
      RETURN NULL;
    END $$`);
  await pool.query(`CREATE TRIGGER test_hold_commit_${n} AFTER INSERT ON events REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION test_hold_commit_${n}()`);
  return {
    async hold() {
      const holder = await pool.connect();
      await holder.query('SELECT pg_advisory_lock($1)', [key]);
      return {
        held: async () =>
          Number((await pool.query<{ n: string }>(
            `SELECT count(*) AS n FROM pg_locks
             WHERE locktype = 'advisory' AND objid = $1 AND NOT granted
               AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
            [key],
          )).rows[0].n),
        release: async () => {
          await holder.query('SELECT pg_advisory_unlock($1)', [key]);
          holder.release();
        },
      };
    },
  };
}

export interface HeldCommits {
  /** How many appends are waiting for the lock right now. */
  held(): Promise<number>;
  release(): Promise<void>;
}

/** Backends of this database waiting for a lock: appends held by holdCommits or queued behind another append. */
export async function waitingForLocks(pool: Pool): Promise<number> {
  const { rows } = await pool.query<{ n: string }>(
    `SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
  );
  return Number(rows[0].n);
}

function literal(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/**
 * Reads the whole log after `from`, in pages of `pageSize`. While a transaction anywhere in the cluster
 * (other test files included) is in flight, readAll rightly holds back events committed after it
 * started; this keeps reading until nothing committed is held back.
 */
export async function readEverything(store: EventStore, from: Cursor, pageSize = 1000): Promise<{ events: StoredEvent[]; next: Cursor }> {
  const events: StoredEvent[] = [];
  let cursor = from;
  for (;;) {
    const page = await store.readAll(cursor, pageSize);
    events.push(...page.events);
    cursor = page.next;
    if (page.events.length > 0) continue;
    if (!page.blocked) return { events, next: cursor };
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A promise with its resolve function, for "wait until the handler has seen N events". */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (err: unknown) => void } {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
