import type { Pool, PoolClient } from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database';
import { deferred, testPool } from '../../../test/support/event-store-testing';
import { compareCursors, cursorOfAppend } from './cursor';
import { ProjectionWaitTimeoutError } from './errors';
import { EventStore } from './event-store';
import type { Logger } from './logger';
import { ProjectorRunner } from './projector-runner';
import type { AppendResult, Projector, StoredEvent } from './types';

/** A read model of stream activity whose rows depend on the order events are applied in. */
function streamSummaries(name: string, table: string): Projector & { failOn?: (e: StoredEvent) => boolean } {
  const projector: Projector & { failOn?: (e: StoredEvent) => boolean } = {
    name,
    tables: [table],
    handles: ['Opened', 'Noted'],
    async apply(event: StoredEvent, client: PoolClient) {
      await client.query(
        `INSERT INTO ${table} (stream_id, events, last_version, notes, applied_ids) VALUES ($1, 1, $2, $3, ARRAY[$4::uuid])
         ON CONFLICT (stream_id) DO UPDATE SET events = ${table}.events + 1, last_version = $2,
           notes = ${table}.notes || $3, applied_ids = ${table}.applied_ids || $4::uuid`,
        [event.streamId, event.version, event.type === 'Noted' ? String((event.data as { note: string }).note) : '', event.eventId],
      );
      // Fails after writing, so only a rollback keeps the write from counting.
      if (projector.failOn?.(event)) throw new Error(`refusing ${event.type} v${event.version}`);
    },
  };
  return projector;
}

const summaryTable = (table: string) => `CREATE TABLE ${table} (
  stream_id text PRIMARY KEY, events int NOT NULL, last_version int NOT NULL, notes text NOT NULL, applied_ids uuid[] NOT NULL)`;

function recordingLogger(): Logger & { errors: Array<{ obj: object; msg?: string }> } {
  const errors: Array<{ obj: object; msg?: string }> = [];
  const ignore = () => undefined;
  return { errors, debug: ignore, info: ignore, warn: ignore, error: (obj, msg) => void errors.push({ obj, msg }) };
}

describe('ProjectorRunner', () => {
  let db: TestDatabase;
  let pool: Pool;
  let store: EventStore;
  const runners: ProjectorRunner[] = [];
  const newRunner = (...args: ConstructorParameters<typeof ProjectorRunner> extends [unknown, unknown, ...infer R] ? R : never) => {
    const runner = new ProjectorRunner(pool, store, ...args);
    runners.push(runner);
    return runner;
  };

  const checkpointOf = async (name: string) =>
    (await pool.query<{ transactionId: string; position: string }>(
      `SELECT transaction_id::text AS "transactionId", global_position::text AS position FROM projection_checkpoints WHERE name = $1`,
      [name],
    )).rows[0];
  const contents = async (table: string) => (await pool.query(`SELECT * FROM ${table} ORDER BY stream_id`)).rows;
  /** Appends one after another, so the last append sorts after all the others; returns it. */
  const appendSome = async (prefix: string, streams: number, perStream: number) => {
    let last: AppendResult | undefined;
    for (let v = 1; v <= perStream; v++) {
      for (let s = 0; s < streams; s++) {
        last = await store.append(`${prefix}-${s}`, 'test', 2 * (v - 1), [
          v === 1 ? { type: 'Opened', data: {} } : { type: 'Noted', data: { note: `${s}.${v};` } },
          { type: 'Ignored', data: {} },
        ]);
      }
    }
    return last!;
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    pool = testPool(db.url, 8);
    store = new EventStore(pool);
  });

  afterEach(async () => {
    await Promise.all(runners.splice(0).map((r) => r.stop()));
  });

  afterAll(async () => {
    await store.close();
    await pool.end();
    await db.drop();
  });

  it('catches up, applies only the handled types, and moves the checkpoint to the head', async () => {
    await pool.query(summaryTable('summary_a'));
    const last = await appendSome('a', 3, 4);
    const runner = newRunner([streamSummaries('summary-a', 'summary_a')], { batchSize: 5 });
    await runner.catchUp();
    expect(await contents('summary_a')).toEqual(
      [0, 1, 2].map((s) => ({
        stream_id: `a-${s}`,
        events: 4,
        last_version: 7,
        notes: `${s}.2;${s}.3;${s}.4;`,
        applied_ids: expect.any(Array),
      })),
    );
    expect(await checkpointOf('summary-a')).toEqual(cursorOfAppend(last));
  });

  it('resolves waitFor once the running projector has applied an append (read-your-writes)', async () => {
    await pool.query(summaryTable('summary_b'));
    const runner = newRunner([streamSummaries('summary-b', 'summary_b')]);
    runner.start();
    for (let i = 0; i < 5; i++) {
      const appended = await store.append(`b-${i}`, 'test', 'no_stream', [{ type: 'Opened', data: {} }]);
      await runner.waitFor(appended);
      expect((await contents('summary_b')).map((r) => r.stream_id)).toContain(`b-${i}`);
    }
    const checkpoint = await checkpointOf('summary-b');
    await expect(runner.waitFor(checkpoint, 50)).resolves.toBeUndefined();
  });

  it('rejects waitFor with ProjectionWaitTimeoutError when the projector does not get there in time', async () => {
    await pool.query(summaryTable('summary_c'));
    const runner = newRunner([streamSummaries('summary-c', 'summary_c')]);
    const appended = await store.append('c-0', 'test', 'no_stream', [{ type: 'Opened', data: {} }]);
    await expect(runner.waitFor(appended, 100)).rejects.toBeInstanceOf(ProjectionWaitTimeoutError);
  });

  it('rebuilds a read model equal to the live one', async () => {
    await pool.query(summaryTable('summary_d'));
    const runner = newRunner([streamSummaries('summary-d', 'summary_d')], { batchSize: 7 });
    runner.start();
    const last = await appendSome('d', 4, 6);
    await runner.waitFor(last);
    const live = await contents('summary_d');
    expect(live.length).toBeGreaterThanOrEqual(4);
    await runner.rebuild();
    expect(await contents('summary_d')).toEqual(live);
    expect(await checkpointOf('summary-d')).toEqual(cursorOfAppend(last));
  });

  it('a rebuild replays everything even while the running loop was reading ahead from the old checkpoint', async () => {
    await pool.query(summaryTable('summary_r'));
    // The loop's shared read-ahead goes through pool.query; once armed, that read is held (its rows
    // already fetched) until the rebuild has reset the checkpoint, then let go before it replays.
    let armed = false;
    const readAheadHeld = deferred();
    const resetDone = deferred();
    const gated = new Proxy(pool, {
      get(target, key) {
        if (key === 'query') {
          return async (text: string, values?: unknown[]) => {
            const result = await target.query(text, values);
            if (armed && text.includes('FROM events')) {
              armed = false;
              readAheadHeld.resolve();
              await resetDone.promise;
            }
            return result;
          };
        }
        const value = Reflect.get(target, key) as unknown;
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const logger = { ...recordingLogger(), info: (_obj: object, msg?: string) => void (msg?.startsWith('projector reset') && resetDone.resolve()) };
    const runner = new ProjectorRunner(gated, store, [streamSummaries('summary-r', 'summary_r')], { logger });
    runners.push(runner);
    runner.start();
    const last = await appendSome('r', 3, 4);
    await runner.waitFor(last);
    const live = await contents('summary_r');
    armed = true;
    // An event the projector does not handle: the loop reads ahead to skip it, and is held there.
    await store.append('r-unhandled', 'test', 'no_stream', [{ type: 'Ignored', data: {} }]);
    await readAheadHeld.promise;
    await runner.rebuild();
    expect(await contents('summary_r')).toEqual(live);
  });

  it('rolls back a failing batch, logs, and retries the same event until the projector recovers', async () => {
    await pool.query(summaryTable('summary_e'));
    const projector = streamSummaries('summary-e', 'summary_e');
    let refusals = 0;
    const twiceRefused = deferred();
    projector.failOn = (e) => {
      if (e.streamId !== 'e-1' || refusals >= 2) return false;
      if (++refusals === 2) twiceRefused.resolve();
      return true;
    };
    const logger = recordingLogger();
    const runner = newRunner([projector], { logger, retry: { minMs: 10, maxMs: 50 } });
    await store.append('e-0', 'test', 'no_stream', [{ type: 'Opened', data: {} }]);
    const failing = await store.append('e-1', 'test', 'no_stream', [{ type: 'Opened', data: {} }]);

    await expect(runner.catchUp()).rejects.toThrow(/refusing Opened v1/);
    // The failed batch's writes are gone and its checkpoint did not move past the event.
    expect((await contents('summary_e')).map((r) => r.stream_id)).not.toContain('e-1');
    const stuckAt = await checkpointOf('summary-e');
    expect(stuckAt === undefined || compareCursors(stuckAt, cursorOfAppend(failing)) < 0).toBe(true);

    runner.start();
    await twiceRefused.promise;
    await runner.waitFor(failing);
    expect(logger.errors.map((e) => e.msg)).toEqual([expect.stringMatching(/rolled back and will be retried/)]);
    expect((await contents('summary_e')).filter((r) => r.stream_id.startsWith('e-')).map((r) => [r.stream_id, r.events])).toEqual([
      ['e-0', 1],
      ['e-1', 1],
    ]);
  });

  it('never applies an event twice when two replicas run the same projector', async () => {
    await pool.query(summaryTable('summary_f'));
    const replicas = [0, 1].map(() => newRunner([streamSummaries('summary-f', 'summary_f')], { batchSize: 3 }));
    for (const r of replicas) r.start();
    const last = await appendSome('f', 5, 8);
    await Promise.all(replicas.map((r) => r.waitFor(last)));
    const rows = (await contents('summary_f')).filter((r) => r.stream_id.startsWith('f-'));
    expect(rows).toHaveLength(5);
    for (const row of rows) {
      expect(row.events).toBe(8);
      expect(new Set(row.applied_ids).size).toBe(8);
    }
  });
  it('moves a projector past events it does not handle without a transaction, and still applies every event it handles exactly once', async () => {
    await pool.query(summaryTable('summary_skip'));
    const projector = streamSummaries('summary-skip', 'summary_skip');
    const runner = newRunner([projector]);
    runner.start();
    const first = await store.append('skip-0', 'test', 'no_stream', [{ type: 'Opened', data: {} }]);
    await runner.waitFor(first);
    const stored = await checkpointOf('summary-skip');
    expect(stored).toEqual(cursorOfAppend(first));

    // Events of a type it does not handle: waitFor resolves, and its checkpoint row is not written.
    let last: AppendResult | undefined;
    for (let i = 0; i < 20; i++) {
      last = await store.append(`skip-other-${i}`, 'test', 'no_stream', [{ type: 'Ignored', data: {} }]);
      await runner.waitFor(last);
    }
    expect(await checkpointOf('summary-skip')).toEqual(stored);

    // A handled event after them is applied once, and the stored checkpoint jumps to it.
    const noted = await store.append('skip-0', 'test', 1, [{ type: 'Noted', data: { note: 'after;' } }]);
    await runner.waitFor(noted);
    expect(await checkpointOf('summary-skip')).toEqual(cursorOfAppend(noted));
    expect((await contents('summary_skip')).filter((r) => r.stream_id.startsWith('skip-'))).toEqual([{ stream_id: 'skip-0', events: 2, last_version: 2, notes: 'after;', applied_ids: expect.any(Array) }]);
    await runner.stop();

    // Another process starting from the table's checkpoint applies nothing again.
    const again = newRunner([streamSummaries('summary-skip', 'summary_skip')]);
    await again.catchUp();
    expect((await contents('summary_skip')).filter((r) => r.stream_id.startsWith('skip-'))).toEqual([{ stream_id: 'skip-0', events: 2, last_version: 2, notes: 'after;', applied_ids: expect.any(Array) }]);
  });

  it('reads from the table when another replica moved the checkpoint after this one skipped ahead', async () => {
    await pool.query(summaryTable('summary_moved'));
    const a = newRunner([streamSummaries('summary-moved', 'summary_moved')]);
    a.start();
    const opened = await store.append('moved-0', 'test', 'no_stream', [{ type: 'Opened', data: {} }]);
    await a.waitFor(opened);
    const skippedTo = await store.append('moved-other', 'test', 'no_stream', [{ type: 'Ignored', data: {} }]);
    await a.waitFor(skippedTo);
    await a.stop();
    // Replica B applies a handled event and stores its checkpoint; then A runs again from its memory.
    const noted = await store.append('moved-0', 'test', 1, [{ type: 'Noted', data: { note: 'b;' } }]);
    const b = newRunner([streamSummaries('summary-moved', 'summary_moved')]);
    await b.catchUp();
    const later = await store.append('moved-0', 'test', 2, [{ type: 'Noted', data: { note: 'a;' } }]);
    a.start();
    await a.waitFor(later);
    expect((await contents('summary_moved')).filter((r) => r.stream_id.startsWith('moved-'))).toEqual([{ stream_id: 'moved-0', events: 3, last_version: 3, notes: 'b;a;', applied_ids: expect.any(Array) }]);
    expect(compareCursors(await checkpointOf('summary-moved'), cursorOfAppend(noted))).toBeGreaterThan(0);
  });
});
