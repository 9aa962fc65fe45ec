/**
 * One transaction on a client checked out of a pg Pool. While a client is checked out the pool no
 * longer listens for its errors, and pg emits an error that arrives between two queries (PostgreSQL
 * shutting down, "terminating connection due to administrator command") as an 'error' event: with no
 * listener, that event ends the process. This listener keeps it, marks the client broken, and the pool
 * then discards the client instead of lending it again.
 */
import type { Pool, PoolClient } from 'pg';

export async function inTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  const onError = (err: Error) => {
    broken = err;
  };
  client.on('error', onError);
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch((rollbackErr: Error) => (broken ??= rollbackErr));
    throw err;
  } finally {
    client.removeListener('error', onError);
    client.release(broken ?? false);
  }
}
