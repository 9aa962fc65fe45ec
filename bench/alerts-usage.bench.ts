/**
 * Alerts and usage at scale, on a migrated PostgreSQL database:
 * (a) one alert poller tick over 10,000 enabled cpu rules on 10,000 apps (the read, the pure plan and
 *     the state write): steady ticks (no state changes) and ticks where every rule starts or ends its
 *     window, in turns with the former state write;
 * (b) one usage recorder pass over 10,000 live apps (one upsert of 10,000 rows), the first of a bucket
 *     (it also looks up stored rows of the bucket) and the following ones;
 * (c) GET /api/apps/:id/usage for 90 days of one app (25,920 five-minute buckets) in a table holding 20
 *     apps, over HTTP against an in-process control plane, and without HTTP; in turns with it the former
 *     read (every bucket's text written by PostgreSQL on each request, two halves at once), over HTTP
 *     and without, and the oldest query (heap key, rows decoded and serialised in Node), on the same
 *     rows; then the first read, which writes the finished days.
 * The tables are filled with SQL (generate_series) so the bench measures the passes, not the set-up.
 */
import { DAY_MS, USAGE_BUCKET_MS, USAGE_RETENTION_DAYS } from '@berth/core';
import type { AppStatsView } from '@berth/contracts';
import { EventStore } from '@berth/event-store';
import { execFile } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { Pool } from 'pg';
import { uuidGenerator } from '../apps/control-plane/src/common/clock';
import { systemClock } from '@berth/core';
import { StatsStore } from '../apps/control-plane/src/modules/stats/stats.store';
import type { Projections } from '../apps/control-plane/src/database/projections.service';
import { StreamHandler } from '../apps/control-plane/src/database/stream-handler';
import { AlertPoller } from '../apps/control-plane/src/modules/alerts/alert-poller';
import type { RuleState } from '../apps/control-plane/src/modules/alerts/alert-evaluator';
import { AlertsRepository } from '../apps/control-plane/src/modules/alerts/alerts.repository';
import { clampWindow } from '../apps/control-plane/src/modules/usage/usage-bucket';
import { UsageRecorder } from '../apps/control-plane/src/modules/usage/usage-recorder';
import { UsageRepository } from '../apps/control-plane/src/modules/usage/usage.repository';
import { startControlPlane, TEST_ADMIN_TOKEN } from '../test/support/control-plane';
import { createMigratedDatabase } from '../test/support/pg-admin';
import { percentile, type BenchRow } from './support/table';

const BENCH = 'alerts-usage';
const execFileAsync = promisify(execFile);
const APPS = 10_000;
const RUNS = 7;
const USAGE_APPS = 20;
/** Changing ticks per poller and direction (over, under). */
const CHANGE_RUNS = 4;

const appId = (i: number) => `20000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
const median = (xs: number[]) => percentile([...xs].sort((a, b) => a - b), 50);
const note = (xs: number[]) => `median of ${xs.length} (min ${Math.min(...xs).toFixed(1)}, max ${Math.max(...xs).toFixed(1)} ms)`;

function stats(i: number, minute: number): AppStatsView & { live: true } {
  return {
    live: true,
    sampledAt: new Date(0).toISOString(),
    cpuPercent: (i * 7 + minute) % 100,
    memoryBytes: 1_000_000 + i,
    memoryLimitBytes: 256 * 2 ** 20,
    netRxBytes: 1000 * minute + i,
    netTxBytes: 500 * minute + i,
    blockReadBytes: 0,
    blockWriteBytes: 0,
    pids: 3,
    restarts: 0,
  };
}

/** The state write as it was: an upsert (two WAL records a changed row) with the arrays encoded by the driver. */
class FormerStateWrites extends AlertsRepository {
  constructor(private readonly db: Pool) {
    super(db);
  }

  override async writeStates(states: { ruleId: string; state: RuleState }[], now: Date): Promise<void> {
    if (states.length === 0) return;
    await this.db.query(
      `INSERT INTO alert_rule_states (rule_id, phase, since, no_data, value, updated_at)
       SELECT u.rule_id, u.phase, to_timestamp(u.since_ms / 1000.0), u.no_data, u.value, $6::timestamptz
       FROM unnest($1::uuid[], $2::text[], $3::float8[], $4::boolean[], $5::float8[]) AS u(rule_id, phase, since_ms, no_data, value)
       ON CONFLICT (rule_id) DO UPDATE SET phase = EXCLUDED.phase, since = EXCLUDED.since, no_data = EXCLUDED.no_data, value = EXCLUDED.value, updated_at = EXCLUDED.updated_at`,
      [
        states.map((s) => s.ruleId),
        states.map((s) => s.state.phase),
        states.map((s) => s.state.since?.getTime() ?? null),
        states.map((s) => s.state.noData),
        states.map((s) => (s.state.value === undefined || !Number.isFinite(s.state.value) ? null : s.state.value)),
        now,
      ],
    );
  }
}

/**
 * Each function once to warm up, then RUNS rounds calling each in turn; keeps each one's last body.
 * A function that times itself (a client in another process) says so with `ms`.
 */
async function inTurns(fns: (() => Promise<string | { body: string; ms: number }>)[]): Promise<{ ms: number[]; last: string }[]> {
  const out: { ms: number[]; last: string }[] = [];
  for (const fn of fns) out.push({ ms: [], last: bodyOf(await fn()) });
  for (let r = 0; r < RUNS; r++) {
    for (const [i, fn] of fns.entries()) {
      const started = performance.now();
      const result = await fn();
      out[i].ms.push(typeof result === 'string' ? performance.now() - started : result.ms);
      out[i].last = bodyOf(result);
    }
  }
  return out;
}

const bodyOf = (result: string | { body: string }) => (typeof result === 'string' ? result : result.body);

/** GET with curl in its own process: its time_total (connect to the last byte), in ms, and the body. */
async function curlGet(url: string): Promise<{ body: string; ms: number }> {
  const { stdout } = await execFileAsync('curl', ['-sS', '--fail', '-H', `authorization: Bearer ${TEST_ADMIN_TOKEN}`, '-w', '\n%{time_total}', url], { maxBuffer: 64 * 2 ** 20 });
  const cut = stdout.lastIndexOf('\n');
  return { body: stdout.slice(0, cut), ms: Number(stdout.slice(cut + 1)) * 1000 };
}

/** The usage endpoint as it was: rows packed by PostgreSQL, split into objects, JSON.stringify. */
async function usageBefore(pool: Pool, appId: string, window: { from: Date; to: Date }): Promise<string> {
  const { rows } = await pool.query<{ packed: string | null }>(
    `SELECT string_agg(concat_ws(',', to_char(bucket_start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), cpu_avg, mem_avg, mem_max, net_rx, net_tx), ';'
                       ORDER BY bucket_start) AS packed
     FROM usage_buckets_before WHERE app_id = $1 AND bucket_start >= $2 AND bucket_start < $3`,
    [appId, window.from, window.to],
  );
  const buckets = (rows[0]?.packed ?? '').split(';').filter(Boolean).map((row) => {
    const f = row.split(',');
    return { bucketStart: f[0], cpuAvg: +f[1], memAvg: +f[2], memMax: +f[3], netRx: +f[4], netTx: +f[5] };
  });
  return JSON.stringify({ from: window.from, to: window.to, buckets });
}

/** The former read of the window: every bucket's text written by PostgreSQL, in parts of at most 45 days at once. */
async function rangeJsonFormer(pool: Pool, appId: string, from: Date, to: Date): Promise<string[]> {
  const partMs = 45 * DAY_MS;
  const parts = Math.max(1, Math.ceil((to.getTime() - from.getTime()) / partMs));
  const step = Math.ceil((to.getTime() - from.getTime()) / parts / USAGE_BUCKET_MS) * USAGE_BUCKET_MS;
  const bounds = Array.from({ length: parts + 1 }, (_, i) => new Date(i === parts ? to.getTime() : Math.min(from.getTime() + i * step, to.getTime())));
  const texts = await Promise.all(
    bounds.slice(1).map(async (end, i) => {
      const { rows } = await pool.query<{ json: string }>(
        `SELECT array_to_string(ARRAY(
                  SELECT concat('{"bucketStart":"', to_char(bucket_start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), '","cpuAvg":', cpu_avg,
                                ',"memAvg":', mem_avg, ',"memMax":', mem_max, ',"netRx":', net_rx, ',"netTx":', net_tx, '}')
                  FROM usage_buckets WHERE app_id = $1 AND bucket_start >= $2 AND bucket_start < $3 ORDER BY bucket_start), ',') AS json`,
        [appId, bounds[i], end],
      );
      return rows[0].json;
    }),
  );
  return texts.filter((t) => t.length > 0);
}

async function time(fn: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await fn();
  return performance.now() - started;
}

export async function run(): Promise<BenchRow[]> {
  const db = await createMigratedDatabase('berth_bench_alerts');
  const pool = new Pool({ connectionString: db.url, max: 4 });
  const store = new EventStore(pool);
  const usageRows: BenchRow[] = [];
  try {
    // (a) poller
    await pool.query(`INSERT INTO alert_apps (app_id, cpus) SELECT ('20000000-0000-4000-8000-' || lpad(i::text, 12, '0'))::uuid, 1 FROM generate_series(0, $1 - 1) i`, [APPS]);
    await pool.query(
      `INSERT INTO alert_rules (id, app_id, kind, threshold, sustain_minutes, enabled, channels, version, created_at, updated_at)
       SELECT ('30000000-0000-4000-8000-' || lpad(i::text, 12, '0'))::uuid, ('20000000-0000-4000-8000-' || lpad(i::text, 12, '0'))::uuid,
              'cpu', 80, 5, true, '[]', 1, '2026-01-01', '2026-01-01'
       FROM generate_series(0, $1 - 1) i`,
      [APPS],
    );
    await pool.query('ANALYZE');
    // The real stats store, as the agents' snapshots fill it (each put is a fresh sample).
    const live = new StatsStore(systemClock);
    const put = (id: string, view: AppStatsView) => {
      if (view.live) live.put({ appId: id, deploymentId: 'bench', view: { ...view, sampledAt: new Date().toISOString() } });
    };
    const hot = (over: boolean) => {
      for (let i = 0; i < APPS; i++) put(appId(i), { ...stats(i, 0), cpuPercent: over ? 95 : 10 });
    };
    const streams = new StreamHandler(store, {} as Projections, { now: () => new Date() } as never);
    const poller = new AlertPoller(new AlertsRepository(pool), streams, live, uuidGenerator);
    const t0 = Date.parse('2026-12-03T10:00:00Z');
    hot(false);
    await poller.tick(new Date(t0 - 60_000)); // warm-up: every rule gets its ok row
    const steady: number[] = [];
    for (let r = 0; r < RUNS; r++) steady.push(await time(() => poller.tick(new Date(t0 + r * 30_000))));
    // Every rule changes state: over (every rule starts its window) then under (every window ends),
    // in turns with a poller writing its states the former way, for the side-by-side figure.
    const formerPoller = new AlertPoller(new FormerStateWrites(pool), streams, live, uuidGenerator);
    const changing: number[] = [];
    const changingBefore: number[] = [];
    for (let r = 0; r < 4 * CHANGE_RUNS; r++) {
      hot(r % 2 === 0);
      const former = Math.floor(r / 2) % 2 === 1;
      const ms = await time(() => (former ? formerPoller : poller).tick(new Date(t0 + (RUNS + r) * 30_000)));
      (former ? changingBefore : changing).push(ms);
    }

    // (b) recorder
    const recorder = new UsageRecorder(new UsageRepository(pool), live);
    const bucket0 = Math.ceil(t0 / USAGE_BUCKET_MS) * USAGE_BUCKET_MS;
    for (let i = 0; i < APPS; i++) put(appId(i), stats(i, 0));
    await recorder.record(new Date(bucket0 - 60_000)); // warm-up
    // Buckets in turns: even ones under the covering key, odd ones under the former key (no INCLUDE:
    // the recorder's updates may stay HOT), for the side-by-side figure.
    const setKey = (include: string) =>
      pool.query(`ALTER TABLE usage_buckets DROP CONSTRAINT usage_buckets_pkey, ADD PRIMARY KEY (app_id, bucket_start) ${include}`);
    const firstOfBucket: number[] = [];
    const following: number[] = [];
    const firstOfBucketBefore: number[] = [];
    const followingBefore: number[] = [];
    for (let b = 0; b < 6; b++) {
      const former = b % 2 === 1;
      await setKey(former ? '' : 'INCLUDE (cpu_avg, mem_avg, mem_max, net_rx, net_tx)');
      for (let m = 0; m < 5; m++) {
        for (let i = 0; i < APPS; i++) put(appId(i), stats(i, b * 5 + m));
        const ms = await time(() => recorder.record(new Date(bucket0 + b * USAGE_BUCKET_MS + m * 60_000)));
        if (former) (m === 0 ? firstOfBucketBefore : followingBefore).push(ms);
        else (m === 0 ? firstOfBucket : following).push(ms);
      }
    }

    // (c) usage query: 90 days of buckets for USAGE_APPS apps, written bucket after bucket as the
    // recorder writes them (one app's rows spread over the heap, not side by side), then vacuumed as
    // autovacuum leaves a table whose past buckets no longer change.
    await pool.query('TRUNCATE alert_rules, alert_rule_states, alert_apps, usage_buckets');
    const cp = await startControlPlane(db.url);
    try {
      const created = await cp.api('/api/apps', { method: 'POST', json: { name: 'metered', source: { type: 'image', image: 'nginx:1.27' }, port: 80 } });
      const target = ((await created.json()) as { id: string }).id;
      const now = new Date(Math.floor(Date.now() / USAGE_BUCKET_MS) * USAGE_BUCKET_MS);
      const buckets = (USAGE_RETENTION_DAYS * DAY_MS) / USAGE_BUCKET_MS;
      const fill = (table: string) =>
        pool.query(
          `INSERT INTO ${table} (app_id, bucket_start, cpu_avg, mem_avg, mem_max, net_rx, net_tx, samples)
           SELECT CASE a WHEN 0 THEN $4::uuid ELSE ('40000000-0000-4000-8000-' || lpad(a::text, 12, '0'))::uuid END, $1::timestamptz - (b * interval '5 minutes'),
                  random() * 100, 1e8 + round(random() * 1e7), 2e8, round(random() * 1e6), round(random() * 1e5), 5
           FROM generate_series($3 - 1, 0, -1) b, generate_series(0, $2 - 1) a ORDER BY b DESC, a`,
          [now, USAGE_APPS, buckets, target],
        );
      await fill('usage_buckets');
      // The same rows under the former key (no INCLUDE), for the side-by-side "before" figure.
      await pool.query('CREATE TABLE usage_buckets_before (LIKE usage_buckets INCLUDING DEFAULTS, PRIMARY KEY (app_id, bucket_start))');
      await pool.query('INSERT INTO usage_buckets_before SELECT * FROM usage_buckets ORDER BY bucket_start, app_id');
      await pool.query('VACUUM ANALYZE usage_buckets');
      await pool.query('VACUUM ANALYZE usage_buckets_before');
      const usageRepo = new UsageRepository(pool);
      const window = () => clampWindow(new Date(0), undefined, new Date());
      const usageUrl = `/api/apps/${target}/usage?from=${new Date(0).toISOString()}`;
      const bodyText = (w: { from: Date; to: Date }, pieces: string[]) => `{"from":"${w.from.toISOString()}","to":"${w.to.toISOString()}","buckets":[${pieces.join(',')}]}`;
      // The control plane's repository answers the former way for the requests of the former rows.
      const served = cp.app.get(UsageRepository);
      const storedDaysWay = served.rangeJson;
      const overHttp = async (former: boolean) => {
        if (former) served.rangeJson = (appId, from, to) => rangeJsonFormer(pool, appId, from, to);
        try {
          return await curlGet(cp.url + usageUrl);
        } finally {
          served.rangeJson = storedDaysWay;
        }
      };
      const [before, formerQuery, query, formerHttp, http, inProcess] = await inTurns([
        () => usageBefore(pool, target, window()),
        async () => {
          const w = window();
          return bodyText(w, await rangeJsonFormer(pool, target, w.from, w.to));
        },
        async () => {
          const w = window();
          return bodyText(w, await usageRepo.rangeJson(target, w.from, w.to, new Date()));
        },
        () => overHttp(true),
        () => overHttp(false),
        async () => {
          const res = await cp.api(usageUrl);
          if (res.status !== 200) throw new Error(`usage answered ${res.status}`);
          return res.text();
        },
      ]);
      const bucketsOf = (body: string) => JSON.stringify((JSON.parse(body) as { buckets: unknown[] }).buckets);
      const expected = bucketsOf(before.last);
      for (const [name, r] of Object.entries({ formerQuery, query, formerHttp, http, inProcess })) {
        if (bucketsOf(r.last) !== expected) throw new Error(`${name}: the buckets differ from the oldest query's`);
      }
      if ((JSON.parse(http.last) as { buckets: unknown[] }).buckets.length !== buckets) throw new Error('the endpoint did not answer every bucket');
      // The first read of the 90 days, which writes the ~89 finished days it finds missing.
      const firstRead: number[] = [];
      for (let r = 0; r < RUNS; r++) {
        await pool.query('DELETE FROM usage_days WHERE app_id = $1', [target]);
        const w = window();
        firstRead.push(await time(() => usageRepo.rangeJson(target, w.from, w.to, new Date())));
      }
      const { rows: sizes } = await pool.query<{ stored: string; text: string; buckets: string; n: number }>(
        `SELECT sum(pg_column_size(body)) AS stored, sum(octet_length(body)) AS text, pg_total_relation_size('usage_buckets') / $2 AS buckets, count(*)::int AS n
         FROM usage_days WHERE app_id = $1`,
        [target, USAGE_APPS],
      );
      const mb = (bytes: string) => `${(Number(bytes) / 2 ** 20).toFixed(1)} MB`;
      const ratio = (after: number[], former: number[]) => (median(after) / median(former)).toFixed(2);
      usageRows.push(
        { benchmark: BENCH, metric: `usage, 90 days of one app over HTTP (${buckets} buckets, ${(http.last.length / 2 ** 20).toFixed(1)} MiB, ${USAGE_APPS} apps stored)`, value: median(http.ms), unit: 'ms', goal: '<= 50', note: `${note(http.ms)}; curl in its own process, connect to the last byte` },
        { benchmark: BENCH, metric: 'usage, the same over HTTP, the former read (every bucket written by PostgreSQL, two halves at once)', value: median(formerHttp.ms), unit: 'ms', note: `${note(formerHttp.ms)}; in turns with the row above (after ÷ former = ${ratio(http.ms, formerHttp.ms)})` },
        { benchmark: BENCH, metric: 'usage, the same with fetch in the control plane\'s process', value: median(inProcess.ms), unit: 'ms', note: `${note(inProcess.ms)}; the client's reading shares the server's thread` },
        { benchmark: BENCH, metric: 'usage, the same without HTTP: query + body text', value: median(query.ms), unit: 'ms', note: note(query.ms) },
        { benchmark: BENCH, metric: 'usage, the same without HTTP, the former read', value: median(formerQuery.ms), unit: 'ms', note: `${note(formerQuery.ms)}; in turns with the row above (after ÷ former = ${ratio(query.ms, formerQuery.ms)})` },
        { benchmark: BENCH, metric: 'usage, before: heap key, packed rows split and JSON.stringify', value: median(before.ms), unit: 'ms', note: `${note(before.ms)}; same rows, in turns with the rows above (after ÷ before = ${ratio(query.ms, before.ms)})` },
        { benchmark: BENCH, metric: 'usage, first read of the 90 days (writes the finished days)', value: median(firstRead), unit: 'ms', note: `${note(firstRead)}; the app's ${sizes[0].n} stored days: ${mb(sizes[0].stored)} compressed (${mb(sizes[0].text)} of text), its share of usage_buckets ${mb(sizes[0].buckets)}` },
      );
    } finally {
      await cp.close();
    }

    return [
      { benchmark: BENCH, metric: `poller tick, ${APPS} cpu rules, no state change`, value: median(steady), unit: 'ms', goal: '<= 200', note: note(steady) },
      { benchmark: BENCH, metric: `poller tick, ${APPS} cpu rules, every rule changes state`, value: median(changing), unit: 'ms', goal: '<= 200', note: note(changing) },
      { benchmark: BENCH, metric: `the same tick writing states the former way (upsert, driver-encoded arrays)`, value: median(changingBefore), unit: 'ms', note: `${note(changingBefore)}; in turns with the row above (after ÷ before = ${(median(changing) / median(changingBefore)).toFixed(2)})` },
      { benchmark: BENCH, metric: `recorder pass, ${APPS} live apps (later minutes of a bucket)`, value: median(following), unit: 'ms', goal: '<= 2000', note: note(following) },
      { benchmark: BENCH, metric: `recorder pass, ${APPS} live apps (first minute of a bucket)`, value: median(firstOfBucket), unit: 'ms', goal: '<= 2000', note: note(firstOfBucket) },
      { benchmark: BENCH, metric: `recorder pass, later minutes, under the former key (no INCLUDE)`, value: median(followingBefore), unit: 'ms', note: `${note(followingBefore)}; in turns with the covering key (covering ÷ former = ${(median(following) / median(followingBefore)).toFixed(2)}); first minutes ${median(firstOfBucketBefore).toFixed(0)} ms` },
      ...usageRows,
    ];
  } finally {
    await store.close();
    await pool.end();
    await db.drop();
  }
}
