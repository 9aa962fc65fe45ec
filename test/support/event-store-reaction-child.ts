/**
 * A reaction process for the reaction crash test (event-store reaction-runner.medium.spec.ts), run as
 * `node dist/test/support/event-store-reaction-child.js <databaseUrl> [stallAtEvent]`. Its reaction
 * records every handling in reaction_handled (one row per attempt) and prints `handled N`. With
 * stallAtEvent it stops inside the handler of that event (numbered by data.n), prints `stalled`, and
 * waits to be killed; otherwise it runs until its checkpoint reaches the head, prints `caught up`, exits 0.
 */
import { Pool } from 'pg';
import { EventStore } from '../../libs/event-store/src/event-store';
import { ReactionRunner, type ReactionLock } from '../../libs/event-store/src/reaction-runner';

const alwaysHeld: ReactionLock = { tryAcquire: async () => true, isHeld: () => true, release: async () => undefined };

async function main(): Promise<void> {
  const [url, stallArg] = process.argv.slice(2);
  const stallAt = stallArg ? Number(stallArg) : undefined;
  const pool = new Pool({ connectionString: url, max: 3 });
  const store = new EventStore(pool);
  let handled = 0;
  const runner = new ReactionRunner(
    pool,
    store,
    [
      {
        name: 'crash-counter',
        handles: ['Ticked'],
        async handle(event) {
          if (!event.streamId.startsWith('crash-')) return;
          const n = (event.data as { n: number }).n;
          await pool.query('INSERT INTO reaction_handled (event_id, n) VALUES ($1, $2)', [event.eventId, n]);
          handled += 1;
          process.stdout.write(`handled ${handled}\n`);
          if (n === stallAt) {
            process.stdout.write('stalled\n');
            await new Promise(() => setTimeout(() => process.exit(2), 60_000));
          }
        },
      },
    ],
    { lockOf: () => alwaysHeld, pollIntervalMs: 50, batchSize: 25 },
  );
  runner.start();
  const head = await store.headCursor();
  for (;;) {
    const at = await runner.checkpoint('crash-counter');
    if (at && at.transactionId === head.transactionId && at.position === head.position) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  await runner.stop();
  process.stdout.write('caught up\n');
  await store.close();
  await pool.end();
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
