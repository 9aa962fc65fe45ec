import type { Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database';
import { testPool } from '../../../test/support/event-store-testing';
import { inTransaction } from './transaction';

describe('inTransaction (real PostgreSQL)', () => {
  let db: TestDatabase;
  let pool: Pool;

  beforeAll(async () => {
    db = await createTestDatabase();
    pool = testPool(db.url, 2);
  });

  afterAll(async () => {
    await pool.end();
    await db.drop();
  });

  it('outlives its connection being terminated between two queries, and the pool lends a fresh one', async () => {
    const failed = inTransaction(pool, async (client) => {
      const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      // PostgreSQL ends the session while no query is running: pg reports it as an 'error' event, which
      // ends the process if the checked-out client has no listener.
      // (events.once would listen for 'error' itself.)
      const closed = new Promise((resolve) => client.once('end', resolve));
      await pool.query('SELECT pg_terminate_backend($1)', [rows[0].pid]);
      await closed;
      await client.query('SELECT 1');
    });
    await expect(failed).rejects.toThrow();
    expect(pool.totalCount).toBeLessThanOrEqual(1);
    const { rows } = await pool.query<{ ok: number }>('SELECT 1 AS ok');
    expect(rows[0].ok).toBe(1);
  });

  it('commits the work and returns its result', async () => {
    await pool.query('CREATE TABLE tx_probe (n int)');
    const result = await inTransaction(pool, async (client) => {
      await client.query('INSERT INTO tx_probe VALUES (1)');
      return 'done';
    });
    expect(result).toBe('done');
    expect((await pool.query('SELECT count(*)::int AS n FROM tx_probe')).rows[0].n).toBe(1);
  });

  it('rolls back when the work throws', async () => {
    await expect(
      inTransaction(pool, async (client) => {
        await client.query('INSERT INTO tx_probe VALUES (2)');
        throw new Error('refused');
      }),
    ).rejects.toThrow('refused');
    expect((await pool.query('SELECT count(*)::int AS n FROM tx_probe WHERE n = 2')).rows[0].n).toBe(0);
  });
});
