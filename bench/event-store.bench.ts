/**
 * Event store throughput and projector lag.
 * (a) events appended per second, one event per append (its own transaction), with 1 and 8 writers,
 *     plus 10-event appends for context; (b) with a ProjectorRunner running, a paced appender at
 *     500 events/s: time from an append's commit to every projector having applied it (runner.waitFor,
 *     the read-your-writes wait the API does after a command).
 */
import { performance } from 'node:perf_hooks';
import { Pool } from 'pg';
import { EventStore, ProjectorRunner, type AppendResult, type Projector } from '../libs/event-store/src';
import { createMigratedDatabase } from '../test/support/pg-admin';
import { percentile, type BenchRow } from './support/table';

const BENCH = 'event-store';
const APPEND_SECONDS = 3;
const LAG_RATE = 500;
const LAG_SECONDS = 5;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function appendRate(store: EventStore, writers: number, eventsPerAppend: number, label: string): Promise<number> {
  const deadline = performance.now() + APPEND_SECONDS * 1000;
  const started = performance.now();
  let events = 0;
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      let version = 0;
      const stream = `${label}-${w}`;
      while (performance.now() < deadline) {
        const batch = Array.from({ length: eventsPerAppend }, (_, i) => ({ type: 'BenchAppended', data: { w, i, version } }));
        version = (await store.append(stream, 'bench', version === 0 ? 'no_stream' : version, batch)).nextVersion;
        events += eventsPerAppend;
      }
    }),
  );
  return events / ((performance.now() - started) / 1000);
}

/** The machine's floor for comparison: one writer, plain single-row INSERTs, each its own durable commit. */
async function bareInsertRate(pool: Pool): Promise<number> {
  await pool.query('CREATE TABLE bench_bare (id bigserial PRIMARY KEY, stream_id text NOT NULL, version int NOT NULL, data jsonb NOT NULL)');
  const deadline = performance.now() + APPEND_SECONDS * 1000;
  const started = performance.now();
  let rows = 0;
  while (performance.now() < deadline) {
    await pool.query('INSERT INTO bench_bare (stream_id, version, data) VALUES ($1, $2, $3)', ['bare', rows, '{}']);
    rows++;
  }
  return rows / ((performance.now() - started) / 1000);
}

async function projectorLag(pool: Pool, store: EventStore): Promise<number[]> {
  await pool.query('CREATE TABLE bench_projection (event_id uuid PRIMARY KEY, stream_id text NOT NULL, data jsonb NOT NULL)');
  const projector: Projector = {
    name: 'bench-projection',
    tables: ['bench_projection'],
    handles: ['LagMeasured'],
    async apply(event, client) {
      await client.query('INSERT INTO bench_projection (event_id, stream_id, data) VALUES ($1, $2, $3)', [event.eventId, event.streamId, event.data]);
    },
  };
  const runner = new ProjectorRunner(pool, store, [projector]);
  await runner.catchUp();
  runner.start();
  const latencies: number[] = [];
  const pending: Promise<void>[] = [];
  const measure = async (i: number) => {
    const result: AppendResult = await store.append(`lag-${i}`, 'bench', 'no_stream', [{ type: 'LagMeasured', data: { i } }]);
    const committed = performance.now();
    await runner.waitFor(result, 10_000);
    latencies.push(performance.now() - committed);
  };
  try {
    const total = LAG_RATE * LAG_SECONDS;
    const started = performance.now();
    for (let i = 0; i < total; i++) {
      const due = started + (i * 1000) / LAG_RATE;
      const wait = due - performance.now();
      if (wait > 1) await sleep(wait);
      pending.push(measure(i));
    }
    await Promise.all(pending);
  } finally {
    await runner.stop();
  }
  return latencies.sort((a, b) => a - b);
}

export async function run(): Promise<BenchRow[]> {
  const db = await createMigratedDatabase();
  const pool = new Pool({ connectionString: db.url, max: 12 });
  pool.on('error', () => undefined); // idle connections still closing when the database is dropped
  const store = new EventStore(pool);
  try {
    const bare = await bareInsertRate(pool);
    const single = await appendRate(store, 1, 1, 'one-writer');
    const eight = await appendRate(store, 8, 1, 'eight-writers');
    const batched = await appendRate(store, 8, 10, 'batched');
    const lags = await projectorLag(pool, store);
    return [
      { benchmark: BENCH, metric: 'append rate, 1 writer, 1 event/append', value: single, unit: 'events/s', goal: '>= 2000', note: 'one durable commit per append' },
      { benchmark: BENCH, metric: 'append rate, 8 writers, 1 event/append', value: eight, unit: 'events/s', goal: '>= 2000' },
      { benchmark: BENCH, metric: 'append rate, 8 writers, 10 events/append', value: batched, unit: 'events/s', note: 'for context' },
      { benchmark: BENCH, metric: 'bare INSERT rate, 1 writer (no event store)', value: bare, unit: 'rows/s', note: "for context: this machine's commit floor" },
      { benchmark: BENCH, metric: `projector lag p50 at ${LAG_RATE} events/s`, value: percentile(lags, 50), unit: 'ms', note: `${lags.length} appends; commit -> runner.waitFor resolves` },
      { benchmark: BENCH, metric: `projector lag p99 at ${LAG_RATE} events/s`, value: percentile(lags, 99), unit: 'ms', goal: '<= 100', note: `max ${lags[lags.length - 1]?.toFixed(1)} ms` },
    ];
  } finally {
    await store.close();
    await pool.end();
    await db.drop();
  }
}
