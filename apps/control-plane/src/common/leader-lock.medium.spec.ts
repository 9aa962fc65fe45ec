import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, withAdmin, type TestDatabase } from '../../../../test/support/database';
import { PgAdvisoryLock } from './leader-lock';

const KEY: [number, number] = [0x62657274, 99];

describe('PgAdvisoryLock (real PostgreSQL)', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db.drop();
  });

  it('is held by one replica at a time and passes on when released', async () => {
    const a = new PgAdvisoryLock(db.url, KEY);
    const b = new PgAdvisoryLock(db.url, KEY);
    expect(await a.tryAcquire()).toBe(true);
    expect(await a.tryAcquire()).toBe(true);
    expect(await b.tryAcquire()).toBe(false);
    await a.release();
    expect(a.isHeld()).toBe(false);
    expect(await b.tryAcquire()).toBe(true);
    await b.release();
  });

  it('knows it lost the lock when its connection dies, and the lock is free again', async () => {
    let onLost: (err: Error) => void = () => undefined;
    const lost = new Promise<Error>((resolve) => (onLost = resolve));
    const a = new PgAdvisoryLock(db.url, KEY, (err) => onLost(err));
    const b = new PgAdvisoryLock(db.url, KEY);
    expect(await a.tryAcquire()).toBe(true);
    await withAdmin((c) =>
      c.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND application_name = 'berth-lock-99'`, [db.name]),
    );
    expect(await lost).toBeInstanceOf(Error);
    expect(a.isHeld()).toBe(false);
    expect(await b.tryAcquire()).toBe(true);
    await b.release();
    await a.release();
  });
});
