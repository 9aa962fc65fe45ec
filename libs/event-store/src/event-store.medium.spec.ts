import type { Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database';
import { holdCommits, readEverything, testPool, waitingForLocks } from '../../../test/support/event-store-testing';
import { compareCursors, cursorOfAppend } from './cursor';
import { ConcurrencyError } from './errors';
import { MORE_AFTER_SQL, READ_ALL_SQL } from './event-rows';
import { EventStore } from './event-store';
import { START } from './types';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const now = new Date('2024-05-01T12:00:00.000Z');

describe('EventStore', () => {
  let db: TestDatabase;
  let pool: Pool;
  let store: EventStore;

  beforeAll(async () => {
    db = await createTestDatabase();
    pool = testPool(db.url, 6);
    store = new EventStore(pool, { clock: () => now });
  });

  afterAll(async () => {
    await store.close();
    await pool.end();
    await db.drop();
  });

  it('appends events with the next versions, a uuid each and the given metadata, and reads them back', async () => {
    const first = await store.append('app-1', 'app', 'no_stream', [{ type: 'AppCreated', data: { name: 'web' } }], { actor: 'alice', correlationId: 'c-1' });
    const second = await store.append('app-1', 'app', 1, [
      { type: 'DomainAdded', data: { host: 'a.example' } },
      { type: 'DomainAdded', data: { host: 'b.example' } },
    ]);
    expect(first.nextVersion).toBe(1);
    expect(second.nextVersion).toBe(3);
    expect(BigInt(second.positions[0])).toBeGreaterThan(BigInt(first.positions[0]));
    expect(await store.streamVersion('app-1')).toBe(3);
    expect(await store.streamVersion('app-unknown')).toBe(0);

    const events = await store.readStream('app-1');
    expect(events.map((e) => [e.version, e.type, e.data])).toEqual([
      [1, 'AppCreated', { name: 'web' }],
      [2, 'DomainAdded', { host: 'a.example' }],
      [3, 'DomainAdded', { host: 'b.example' }],
    ]);
    expect(events[0].metadata).toEqual({ actor: 'alice', correlationId: 'c-1', eventId: first.eventIds[0] });
    expect(events.map((e) => e.eventId)).toEqual([...first.eventIds, ...second.eventIds]);
    for (const e of events) expect(e.eventId).toMatch(UUID);
    expect(events[0].occurredAt.toISOString()).toBe(now.toISOString());
    expect(events[1].transactionId).toBe(second.transactionId);
    expect((await store.readStream('app-1', 2)).map((e) => e.version)).toEqual([3]);
  });

  it('rejects a stale expected version and stores nothing of that append', async () => {
    await store.append('app-2', 'app', 'no_stream', [{ type: 'AppCreated', data: {} }]);
    await store.append('app-2', 'app', 1, [{ type: 'AppStopped', data: { by: 'first' } }]);
    const stale = store.append('app-2', 'app', 1, [{ type: 'AppStopped', data: { by: 'second' } }]);
    await expect(stale).rejects.toBeInstanceOf(ConcurrencyError);
    await expect(stale).rejects.toMatchObject({ streamId: 'app-2', expected: 1, actual: 2 });
    expect((await store.readStream('app-2')).map((e) => e.data)).toEqual([{}, { by: 'first' }]);
  });

  it("refuses 'no_stream' on an existing stream and a version the stream has not reached; 'any' always appends", async () => {
    await store.append('app-3', 'app', 'no_stream', [{ type: 'AppCreated', data: {} }]);
    await expect(store.append('app-3', 'app', 'no_stream', [{ type: 'AppCreated', data: {} }])).rejects.toBeInstanceOf(ConcurrencyError);
    await expect(store.append('app-3', 'app', 5, [{ type: 'AppStopped', data: {} }])).rejects.toBeInstanceOf(ConcurrencyError);
    await expect(store.append('app-new', 'app', 0, [{ type: 'AppCreated', data: {} }])).resolves.toMatchObject({ nextVersion: 1 });
    await expect(store.append('app-3', 'app', 'any', [{ type: 'AppStopped', data: {} }])).resolves.toMatchObject({ nextVersion: 2 });
    expect(await store.streamVersion('app-3')).toBe(2);
  });

  it('lets exactly one of two racing appends win when both saw the stream empty', async () => {
    const gate = await (await holdCommits(pool, 'race-1')).hold();
    let winner;
    let loser;
    try {
      winner = store.append('race-1', 'app', 'no_stream', [{ type: 'AppCreated', data: { by: 'winner' } }]);
      await vi.waitFor(async () => expect(await gate.held()).toBe(1)); // inserted, not committed
      loser = store.append('race-1', 'app', 'no_stream', [{ type: 'AppCreated', data: { by: 'loser' } }]);
      // The loser's statement has seen an empty stream and now waits for the winner to finish.
      await vi.waitFor(async () => expect(await waitingForLocks(pool)).toBe(2));
    } finally {
      await gate.release();
    }
    await expect(winner).resolves.toMatchObject({ nextVersion: 1 });
    await expect(loser).rejects.toMatchObject({ name: 'ConcurrencyError', streamId: 'race-1', expected: 'no_stream', actual: 1 });
    expect((await store.readStream('race-1')).map((e) => e.data)).toEqual([{ by: 'winner' }]);
  });

  it('fails an appendMany whose version-only entry is overtaken by an append still committing', async () => {
    const created = await store.append('app-c1', 'app', 'no_stream', [{ type: 'AppCreated', data: {} }]);
    const gate = await (await holdCommits(pool, 'app-c1')).hold();
    let stop;
    let deploy;
    try {
      stop = store.append('app-c1', 'app', created.nextVersion, [{ type: 'AppStopped', data: {} }]);
      await vi.waitFor(async () => expect(await gate.held()).toBe(1)); // AppStopped inserted, not committed
      deploy = store.appendMany([
        { streamId: 'deployment-c1', streamType: 'deployment', expectedVersion: 'no_stream', events: [{ type: 'DeploymentRequested', data: {} }] },
        { streamId: 'app-c1', streamType: 'app', expectedVersion: created.nextVersion, events: [] },
      ]);
      await vi.waitFor(async () => expect(await waitingForLocks(pool)).toBe(2));
    } finally {
      await gate.release();
    }
    await expect(stop).resolves.toMatchObject({ nextVersion: 2 });
    await expect(deploy).rejects.toMatchObject({ name: 'ConcurrencyError', streamId: 'app-c1', expected: 1, actual: 2 });
    expect(await store.streamVersion('deployment-c1')).toBe(0);
  });

  it('makes an append wait for an appendMany that has checked its stream, so the check still holds at commit', async () => {
    const created = await store.append('app-c2', 'app', 'no_stream', [{ type: 'AppCreated', data: {} }]);
    const gate = await (await holdCommits(pool, 'deployment-c2')).hold();
    let deploy;
    let stop;
    try {
      deploy = store.appendMany([
        { streamId: 'deployment-c2', streamType: 'deployment', expectedVersion: 'no_stream', events: [{ type: 'DeploymentRequested', data: {} }] },
        { streamId: 'app-c2', streamType: 'app', expectedVersion: created.nextVersion, events: [] },
      ]);
      await vi.waitFor(async () => expect(await gate.held()).toBe(1)); // checked app-c2 at version 1, not committed
      stop = store.append('app-c2', 'app', created.nextVersion, [{ type: 'AppStopped', data: {} }]);
      await vi.waitFor(async () => expect(await waitingForLocks(pool)).toBe(2));
    } finally {
      await gate.release();
    }
    const [requested] = await deploy;
    const stopped = await stop;
    expect(compareCursors(cursorOfAppend(requested), cursorOfAppend(stopped))).toBeLessThan(0);
    expect((await store.readStream('app-c2')).map((e) => e.type)).toEqual(['AppCreated', 'AppStopped']);
  });

  it('lets exactly one of many concurrent appends with the same expected version win', async () => {
    await store.append('race-2', 'app', 'no_stream', [{ type: 'AppCreated', data: {} }]);
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, (_, i) => store.append('race-2', 'app', 1, [{ type: 'AppStopped', data: { by: i } }])),
    );
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(won).toHaveLength(1);
    for (const r of lost) expect(r.reason).toBeInstanceOf(ConcurrencyError);
    const events = await store.readStream('race-2');
    expect(events).toHaveLength(2);
    expect(events[1].eventId).toBe((won[0] as PromiseFulfilledResult<{ eventIds: string[] }>).value.eventIds[0]);
  });

  it('appends to several streams in one transaction', async () => {
    const [claim, created] = await store.appendMany([
      { streamId: 'appname-web', streamType: 'appname', expectedVersion: 'no_stream', events: [{ type: 'AppNameClaimed', data: { appId: 'a1' } }] },
      { streamId: 'app-a1', streamType: 'app', expectedVersion: 'no_stream', events: [{ type: 'AppCreated', data: { name: 'web' } }] },
    ]);
    expect(claim.transactionId).toBe(created.transactionId);
    expect(BigInt(created.positions[0])).toBeGreaterThan(BigInt(claim.positions[0]));
    expect(await store.streamVersion('appname-web')).toBe(1);
    expect(await store.streamVersion('app-a1')).toBe(1);
  });

  it('writes nothing of an appendMany whose second stream conflicts', async () => {
    await store.append('appname-taken', 'appname', 'no_stream', [{ type: 'AppNameClaimed', data: { appId: 'other' } }]);
    const attempt = store.appendMany([
      { streamId: 'app-a2', streamType: 'app', expectedVersion: 'no_stream', events: [{ type: 'AppCreated', data: { name: 'taken' } }] },
      { streamId: 'appname-taken', streamType: 'appname', expectedVersion: 'no_stream', events: [{ type: 'AppNameClaimed', data: { appId: 'a2' } }] },
    ]);
    await expect(attempt).rejects.toMatchObject({ name: 'ConcurrencyError', streamId: 'appname-taken' });
    expect(await store.streamVersion('app-a2')).toBe(0);
    expect((await store.readStream('appname-taken')).map((e) => e.data)).toEqual([{ appId: 'other' }]);
  });

  it('refuses an append without events', async () => {
    await expect(store.append('app-empty', 'app', 'any', [])).rejects.toThrow(/at least one event/);
  });

  it('reads everything from START in order, in pages, and starts a new reader at the head', async () => {
    const { events, next } = await readEverything(store, START, 3);
    const { rows } = await pool.query<{ p: string }>('SELECT global_position::text AS p FROM events ORDER BY transaction_id, global_position');
    expect(events.map((e) => e.position)).toEqual(rows.map((r) => r.p));
    expect(await store.readAll(next, 3)).toMatchObject({ events: [], next });
    expect(await store.headCursor()).toEqual(next);
    const later = await store.append('app-late', 'app', 'no_stream', [{ type: 'AppCreated', data: {} }]);
    expect((await readEverything(store, next)).events.map((e) => e.eventId)).toEqual(later.eventIds);
  });

  it('serves readers at one cursor in one turn of the event loop with one read, each its own page size', async () => {
    const from = await store.headCursor();
    const appended = await store.append('app-readers', 'app', 'no_stream', [1, 2, 3].map((n) => ({ type: 'Ticked', data: { n } })));
    const queries = vi.spyOn(pool, 'query');
    try {
      const [two, all, again] = await Promise.all([store.readAll(from, 2), store.readAll(from, 500), store.readAll(from, 500)]);
      // One read and its check for transactions in flight: two queries for the three readers.
      expect(queries).toHaveBeenCalledTimes(2);
      expect(all.events.map((e) => e.eventId)).toEqual(appended.eventIds);
      expect(again.events.map((e) => e.eventId)).toEqual(appended.eventIds);
      expect(again.events).not.toBe(all.events);
      // Two of three: a full page, so its reader reads on from its own next cursor.
      expect(two.events.map((e) => e.eventId)).toEqual(appended.eventIds.slice(0, 2));
      expect(two.next).toEqual({ transactionId: two.events[1].transactionId, position: two.events[1].position });
      expect((await store.readAll(two.next, 2)).events.map((e) => e.eventId)).toEqual(appended.eventIds.slice(2));
      // A read asked for on a later turn is a read of its own, and sees what was appended since.
      const later = await store.append('app-readers', 'app', 1 + 2, [{ type: 'Ticked', data: { n: 4 } }]);
      expect((await store.readAll(all.next, 500)).events.map((e) => e.eventId)).toEqual(later.eventIds);
    } finally {
      queries.mockRestore();
    }
    await expect(store.readAll(START, 0)).rejects.toThrow(RangeError);
  });

  it("uses the (transaction_id, global_position) index for readAll's row comparison, without sorting", async () => {
    await pool.query(`INSERT INTO events (stream_id, stream_type, version, type, data, occurred_at)
      SELECT 'bulk-' || i, 'bulk', 1, 'Bulk', '{}', now() FROM generate_series(1, 5000) i`);
    await pool.query('ANALYZE events');
    const { rows } = await pool.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (FORMAT JSON) ${READ_ALL_SQL}`.replace(/\$1/g, `'5'`).replace(/\$2/g, `'7'`).replace(/\$3/g, '100'));
    const plan = JSON.stringify(rows[0]['QUERY PLAN']);
    expect(plan).toMatch(/"Index Name":"events_transaction_position"/);
    expect(plan).toMatch(/"Index Cond":"[^"]*ROW\(transaction_id, global_position\) > ROW/);
    expect(plan).not.toMatch(/"Node Type":"(Sort|Seq Scan)"/);
  });

  it('asks whether anything follows a short page through the same index, even before the log is analyzed', async () => {
    await pool.query(`INSERT INTO events (stream_id, stream_type, version, type, data, occurred_at)
      SELECT 'more-' || i, 'bulk', 1, 'Bulk', '{}', now() FROM generate_series(1, 5000) i`);
    const head = await store.headCursor();
    const sql = MORE_AFTER_SQL.replace(/\$1/g, `'${head.transactionId}'`).replace(/\$2/g, `'${head.position}'`);
    // Right after a burst of appends autovacuum has not analyzed the log yet: no statistics at all
    // (removed here inside a transaction that is rolled back), so the planner guesses.
    const client = await pool.connect();
    let plan: string;
    try {
      await client.query('BEGIN');
      await client.query(`DELETE FROM pg_statistic WHERE starelid = 'events'::regclass`);
      plan = JSON.stringify((await client.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (FORMAT JSON) ${sql}`)).rows[0]['QUERY PLAN']);
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
    expect(plan).toMatch(/"Index Name":"events_transaction_position"/);
    expect(plan).not.toMatch(/"Node Type":"(Sort|Seq Scan)"/);
    expect((await pool.query<{ blocked: boolean }>(MORE_AFTER_SQL, [head.transactionId, head.position])).rows[0].blocked).toBe(false);
    expect((await pool.query<{ blocked: boolean }>(MORE_AFTER_SQL, ['1', '0'])).rows[0].blocked).toBe(true);
  });
});
