import type { Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database';
import { deferred, testPool } from '../../../test/support/event-store-testing';
import { EventStore } from './event-store';
import { WAKER_APPLICATION_NAME } from './event-waker';
import type { Logger } from './logger';
import type { StoredEvent } from './types';

describe('EventWaker', () => {
  let db: TestDatabase;
  let pool: Pool;
  let otherPool: Pool;
  let store: EventStore;
  let otherProcess: EventStore;
  const warnings: string[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    pool = testPool(db.url, 2);
    otherPool = testPool(db.url, 2);
    const logger: Logger = { debug: () => undefined, info: () => undefined, error: () => undefined, warn: (_o, msg) => void warnings.push(msg ?? '') };
    // Polling is pushed out of the test's reach, so only a NOTIFY can wake the subscriber.
    store = new EventStore(pool, { pollIntervalMs: 600_000, logger, notifyChannel: 'waker_test' });
    // Appends through another store (another pool) do not wake this store in-process, as in another process.
    otherProcess = new EventStore(otherPool, { notifyChannel: 'waker_test' });
  });

  afterAll(async () => {
    await store.close();
    await pool.end();
    await otherPool.end();
    await db.drop();
  });

  it('keeps waking subscribers after its LISTEN connection is terminated', async () => {
    const received: StoredEvent[] = [];
    let expecting = deferred();
    const subscription = store.subscribe(await store.headCursor(), async (events) => {
      received.push(...events);
      expecting.resolve();
    });
    try {
      await store.waker.start(); // the subscription started it; wait until LISTEN is in place

      await otherProcess.append('wake-1', 'test', 'no_stream', [{ type: 'Pinged', data: { n: 1 } }]);
      await expecting.promise;
      expect(received.map((e) => e.data)).toEqual([{ n: 1 }]);

      const listeningAgain = deferred();
      const off = store.waker.onListening(() => listeningAgain.resolve());
      const { rows } = await otherPool.query<{ terminated: boolean }>(
        `SELECT pg_terminate_backend(pid) AS terminated FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1`,
        [WAKER_APPLICATION_NAME],
      );
      expect(rows).toEqual([{ terminated: true }]);
      await listeningAgain.promise;
      off();
      expect(warnings).toContainEqual(expect.stringMatching(/lost its LISTEN connection/));

      expecting = deferred();
      const before = received.length;
      await otherProcess.append('wake-2', 'test', 'no_stream', [{ type: 'Pinged', data: { n: 2 } }]);
      await expecting.promise;
      expect(received.slice(before).map((e) => e.data)).toEqual([{ n: 2 }]);
    } finally {
      await subscription.stop();
    }
    expect(store.waker.isListening).toBe(false); // the last listener left, so the waker stopped
  });
});
