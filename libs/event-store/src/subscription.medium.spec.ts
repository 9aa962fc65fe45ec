import type { Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database';
import { deferred, testPool } from '../../../test/support/event-store-testing';
import { cursorOfAppend } from './cursor';
import { EventStore } from './event-store';
import type { Logger } from './logger';

describe('subscribe', () => {
  let db: TestDatabase;
  let pool: Pool;
  let store: EventStore;

  beforeAll(async () => {
    db = await createTestDatabase();
    pool = testPool(db.url, 4);
    store = new EventStore(pool);
  });

  afterAll(async () => {
    await store.close();
    await pool.end();
    await db.drop();
  });

  it('starts from the head and hands over only the filtered types', async () => {
    const old = await store.append('sub-old', 'test', 'no_stream', [{ type: 'Wanted', data: { old: true } }]);
    // The head is the newest readable event: wait until no transaction elsewhere holds sub-old back.
    await vi.waitFor(async () => expect(await store.headCursor()).toEqual(cursorOfAppend(old)));
    const types: string[] = [];
    const gotTwo = deferred();
    const subscription = store.subscribe(
      await store.headCursor(),
      async (events) => {
        types.push(...events.map((e) => `${e.type}:${e.streamId}`));
        if (types.length === 2) gotTwo.resolve();
      },
      { filter: (type) => type === 'Wanted', batchSize: 2 },
    );
    try {
      await store.append('sub-1', 'test', 'no_stream', [
        { type: 'Skipped', data: {} },
        { type: 'Wanted', data: {} },
        { type: 'Skipped', data: {} },
      ]);
      await store.append('sub-2', 'test', 'no_stream', [{ type: 'Wanted', data: {} }]);
      await gotTwo.promise;
    } finally {
      await subscription.stop();
    }
    expect(types).toEqual(['Wanted:sub-1', 'Wanted:sub-2']);
  });

  it('retries a failing handler with the same events instead of dropping them', async () => {
    const errors: string[] = [];
    const logger: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: (_o, msg) => void errors.push(msg ?? '') };
    const retrying = new EventStore(pool, { logger });
    const calls: string[][] = [];
    const delivered = deferred();
    let failuresLeft = 2;
    const subscription = retrying.subscribe(
      await retrying.headCursor(),
      async (events) => {
        calls.push(events.map((e) => e.streamId));
        if (failuresLeft-- > 0) throw new Error('read model unavailable');
        delivered.resolve();
      },
      { retry: { minMs: 5, maxMs: 20 }, filter: (type) => type === 'Retried' },
    );
    try {
      await retrying.append('retry-1', 'test', 'no_stream', [{ type: 'Retried', data: {} }]);
      await delivered.promise;
    } finally {
      await subscription.stop();
    }
    expect(calls).toEqual([['retry-1'], ['retry-1'], ['retry-1']]);
    expect(errors).toHaveLength(2);
  });
});
