/**
 * The proof that readers never skip an event: a global position is taken before commit, so a lower
 * position can become visible after a higher one. readAll only reads below the oldest transaction
 * still in flight, so a reader's cursor never moves past an event that could still appear.
 */
import type { Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database';
import { deferred, delayCommits, holdCommits, readEverything, testPool } from '../../../test/support/event-store-testing';
import { cursorOfAppend } from './cursor';
import { EventStore } from './event-store';
import type { StoredEvent } from './types';

const WRITERS = 8;
const EVENTS_PER_WRITER = 500;
const TOTAL = WRITERS * EVENTS_PER_WRITER;

describe('readAll ordering', () => {
  let db: TestDatabase;
  const pools: Pool[] = [];
  let reader: EventStore;

  const newPool = (max: number) => {
    const pool = testPool(db.url, max);
    pools.push(pool);
    return pool;
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    reader = new EventStore(newPool(2));
  });

  afterAll(async () => {
    await reader.close();
    await Promise.all(pools.map((p) => p.end()));
    await db.drop();
  });

  it(`delivers all ${TOTAL} events of ${WRITERS} concurrent appenders to a live subscriber once each, in the order readAll gives afterwards`, async () => {
    const start = await reader.headCursor();
    const seen: StoredEvent[] = [];
    const allSeen = deferred();
    const subscription = reader.subscribe(
      start,
      async (events) => {
        seen.push(...events);
        if (seen.length >= TOTAL) allSeen.resolve();
      },
      { batchSize: 100 },
    );

    // Each writer has its own connection; a fifth of the commits sleep up to 15 ms after the insert took its
    // position, so commits land out of position order.
    const writerPool = newPool(WRITERS);
    await delayCommits(writerPool, 'order-', 0.2, 15);
    const writer = new EventStore(writerPool);
    const finished: bigint[] = [];
    try {
      await Promise.all(
        Array.from({ length: WRITERS }, async (_, w) => {
          for (let v = 1; v <= EVENTS_PER_WRITER; v++) {
            const r = await writer.append(`order-${w}`, 'order', v - 1, [{ type: 'Counted', data: { w, v } }]);
            finished.push(BigInt(r.positions[0]));
          }
        }),
      );
      await allSeen.promise;
    } finally {
      await subscription.stop();
    }

    // The scenario really happened: some append finished after one holding a higher position.
    let highest = 0n;
    let lateCommits = 0;
    for (const p of finished) {
      if (p < highest) lateCommits++;
      else highest = p;
    }
    expect(lateCommits).toBeGreaterThan(0);

    expect(seen).toHaveLength(TOTAL);
    expect(new Set(seen.map((e) => e.eventId)).size).toBe(TOTAL);
    for (let w = 0; w < WRITERS; w++) {
      const versions = seen.filter((e) => e.streamId === `order-${w}`).map((e) => e.version);
      expect(versions).toEqual(Array.from({ length: EVENTS_PER_WRITER }, (_, i) => i + 1));
    }

    const afterwards = (await readEverything(reader, start)).events.map((e) => e.position);
    expect(seen.map((e) => e.position)).toEqual(afterwards);
  });

  it('does not move past a transaction still in flight, so the event it commits later is still delivered', async () => {
    const writerPool = newPool(3);
    const writer = new EventStore(writerPool);
    const holds = await holdCommits(writerPool, 'inflight-a');

    const before = await writer.append('inflight-0', 'test', 'no_stream', [{ type: 'Before', data: {} }]);
    const cursor = cursorOfAppend(before); // a reader that has read everything so far

    const gate = await holds.hold();
    const appendA = writer.append('inflight-a', 'test', 'no_stream', [{ type: 'A', data: {} }]);
    let b;
    let whileInFlight;
    try {
      await vi.waitFor(async () => expect(await gate.held()).toBe(1)); // A took the next position and has not committed
      b = await writer.append('inflight-b', 'test', 'no_stream', [{ type: 'B', data: {} }]);

      // A reader that went by position alone would now see B and move past A's position for good.
      const { rows: naive } = await writerPool.query<{ stream_id: string }>('SELECT stream_id FROM events WHERE global_position > $1', [cursor.position]);
      expect(naive.map((r) => r.stream_id)).toEqual(['inflight-b']);

      whileInFlight = await reader.readAll(cursor, 100);
      expect(whileInFlight.events).toEqual([]);
      expect(whileInFlight.next).toEqual(cursor);
    } finally {
      await gate.release();
    }
    const a = await appendA;
    expect(BigInt(a.positions[0])).toBeLessThan(BigInt(b.positions[0]));
    // Other databases' transactions also hold back the snapshot's xmin for a moment: wait for them.
    await vi.waitFor(async () => {
      const afterCommit = await reader.readAll(whileInFlight.next, 100);
      expect(afterCommit.events.map((e) => e.streamId)).toEqual(['inflight-a', 'inflight-b']);
    });
  });
});
