/**
 * A projector process for the crash test (event-store projector-crash.medium.spec.ts), run as
 * `node dist/test/support/event-store-projector-child.js <databaseUrl> [stallAfter]`, in batches of 50.
 * Its projector records every apply in crash_applies (one row per event, counting applies) and prints
 * `applied N` after each one. With stallAfter it stops mid-batch after that many applies, prints
 * `stalled`, and waits there to be killed; otherwise it catches up, prints `caught up` and exits 0.
 */
import { Pool } from 'pg';
import { EventStore } from '../../libs/event-store/src/event-store';
import { ProjectorRunner } from '../../libs/event-store/src/projector-runner';
import type { Projector } from '../../libs/event-store/src/types';

const BATCH_SIZE = 50;

async function main(): Promise<void> {
  const [url, stallAfterArg] = process.argv.slice(2);
  const stallAfter = stallAfterArg ? Number(stallAfterArg) : Infinity;
  const pool = new Pool({ connectionString: url, max: 2 });
  const store = new EventStore(pool);
  let applies = 0;
  const projector: Projector = {
    name: 'crash-counter',
    tables: ['crash_applies'],
    async apply(event, client) {
      await client.query(
        `INSERT INTO crash_applies (event_id, position, applies) VALUES ($1, $2, 1)
         ON CONFLICT (event_id) DO UPDATE SET applies = crash_applies.applies + 1`,
        [event.eventId, event.position],
      );
      await client.query('SELECT pg_sleep(0.001)');
      applies += 1;
      process.stdout.write(`applied ${applies}\n`);
      if (applies >= stallAfter) {
        process.stdout.write('stalled\n');
        // Hold the batch's transaction open until the test kills us; give up after a minute if it never does.
        await new Promise(() => setTimeout(() => process.exit(2), 60_000));
      }
    },
  };
  const runner = new ProjectorRunner(pool, store, [projector], { batchSize: BATCH_SIZE });
  await runner.catchUp();
  process.stdout.write('caught up\n');
  await pool.end();
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
