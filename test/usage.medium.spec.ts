import { DAY_MS, USAGE_BUCKET_MS } from '@berth/core';
import type { AppStatsView } from '@berth/contracts';
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StatsStore } from '../apps/control-plane/src/modules/stats/stats.store';
import { feedStats } from './support/live-stats';
import { UsageRecorder } from '../apps/control-plane/src/modules/usage/usage-recorder';
import { clampWindow } from '../apps/control-plane/src/modules/usage/usage-bucket';
import { UsageRepository } from '../apps/control-plane/src/modules/usage/usage.repository';
import { createTestDatabase, type TestDatabase } from './support/database';
import { startControlPlane, type RunningControlPlane } from './support/control-plane';

const jsonOf = (res: Response): Promise<any> => res.json();

const stats = (cpuPercent: number, memoryBytes: number, netRxBytes: number, netTxBytes: number): AppStatsView => ({
  live: true,
  sampledAt: new Date().toISOString(),
  cpuPercent,
  memoryBytes,
  memoryLimitBytes: 1 << 30,
  netRxBytes,
  netTxBytes,
  blockReadBytes: 0,
  blockWriteBytes: 0,
  pids: 1,
  restarts: 0,
});

describe('usage: recorder, pruner and endpoint (real PostgreSQL)', () => {
  let db: TestDatabase;
  let cp: RunningControlPlane;
  let pg: Client;
  let appId: string;

  /** Rows before 2026-12-02 (the control plane's own recorder, on the real clock, may add one for today). */
  const rowsOf = async (id: string) =>
    (
      await pg.query(
        `SELECT bucket_start, cpu_avg, mem_avg, mem_max::int AS mem_max, net_rx::int AS net_rx, net_tx::int AS net_tx, samples
         FROM usage_buckets WHERE app_id = $1 AND bucket_start < '2026-12-02T00:00:00Z' ORDER BY bucket_start`,
        [id],
      )
    ).rows;
  const insertRow = (id: string, bucketStart: Date) =>
    pg.query(`INSERT INTO usage_buckets (app_id, bucket_start, cpu_avg, mem_avg, mem_max, net_rx, net_tx, samples) VALUES ($1, $2, 1, 2, 3, 4, 5, 1)`, [id, bucketStart]);

  beforeAll(async () => {
    db = await createTestDatabase();
    cp = await startControlPlane(db.url);
    pg = new Client({ connectionString: db.url });
    await pg.connect();
    const res = await cp.api('/api/apps', { method: 'POST', json: { name: 'metered', source: { type: 'image', image: 'nginx:1.27' }, port: 80 } });
    appId = (await jsonOf(res)).id;
  });
  afterAll(async () => {
    await pg?.end();
    await cp?.close();
    await db?.drop();
  });

  it('writes one row per bucket however often it records, with the values of the last write', async () => {
    const live = cp.app.get(StatsStore);
    const recorder = cp.app.get(UsageRecorder);
    const bucket = new Date(Math.floor(Date.parse('2026-12-01T12:00:00Z') / USAGE_BUCKET_MS) * USAGE_BUCKET_MS);
    const minute = (m: number) => new Date(bucket.getTime() + m * 60_000);
    const samples = [stats(10, 100, 1000, 10), stats(30, 300, 1600, 40), stats(20, 200, 1700, 50)];
    for (const [i, s] of samples.entries()) {
      feedStats(live, appId, s);
      expect(await recorder.record(minute(i))).toBe(1);
    }
    expect(await rowsOf(appId)).toEqual([{ bucket_start: bucket, cpu_avg: 20, mem_avg: 200, mem_max: 300, net_rx: 700, net_tx: 40, samples: 3 }]);

    // The next minute falls in the next bucket: a second row.
    feedStats(live, appId, stats(50, 500, 1800, 60));
    await recorder.record(minute(5));
    expect((await rowsOf(appId)).map((r) => [r.bucket_start, r.samples, r.net_rx])).toEqual([
      [bucket, 3, 700],
      [minute(5), 1, 100],
    ]);

    // A replica taking over mid-bucket (a fresh recorder) continues the stored bucket.
    const other = new UsageRecorder(cp.app.get(UsageRepository), live);
    feedStats(live, appId, stats(80, 800, 1900, 70));
    await other.record(minute(6));
    expect((await rowsOf(appId)).at(-1)).toMatchObject({ bucket_start: minute(5), cpu_avg: 65, mem_max: 800, samples: 2, net_rx: 100 });
    feedStats(live, appId, { live: false });
    await pg.query(`DELETE FROM usage_buckets`);
  });

  it('the pruner deletes rows older than exactly 90 days, in batches', async () => {
    const now = new Date('2026-12-03T10:00:00.000Z');
    const cutoff = new Date(now.getTime() - 90 * DAY_MS);
    await insertRow(appId, cutoff);
    await insertRow(appId, new Date(cutoff.getTime() + USAGE_BUCKET_MS));
    for (let i = 1; i <= 5; i++) await insertRow(appId, new Date(cutoff.getTime() - i * USAGE_BUCKET_MS));
    await insertRow(appId, new Date(cutoff.getTime() - 1));
    expect(await cp.app.get(UsageRepository).pruneBefore(cutoff, 2)).toBe(6);
    expect((await rowsOf(appId)).map((r) => r.bucket_start)).toEqual([cutoff, new Date(cutoff.getTime() + USAGE_BUCKET_MS)]);
    expect(await cp.app.get(UsageRecorder).prune(now)).toBe(0);
    await pg.query(`DELETE FROM usage_buckets`);
  });

  it('the endpoint never reads past the 90-day window and says where it clamped', async () => {
    const now = Date.now();
    const recent = new Date(Math.floor((now - 3_600_000) / USAGE_BUCKET_MS) * USAGE_BUCKET_MS);
    await insertRow(appId, new Date(now - 100 * DAY_MS)); // not yet pruned: still never answered
    await insertRow(appId, new Date(now - 80 * DAY_MS));
    await insertRow(appId, recent);

    const res = await cp.api(`/api/apps/${appId}/usage?from=${new Date(now - 365 * DAY_MS).toISOString()}`);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const body = await jsonOf(res);
    expect(Date.parse(body.to) - Date.parse(body.from)).toBe(90 * DAY_MS);
    expect(Date.parse(body.to)).toBeGreaterThanOrEqual(now);
    expect(body.buckets).toHaveLength(2);
    expect(body.buckets[1]).toEqual({ bucketStart: recent.toISOString(), cpuAvg: 1, memAvg: 2, memMax: 3, netRx: 4, netTx: 5 });

    const day = await jsonOf(await cp.api(`/api/apps/${appId}/usage`));
    expect(Date.parse(day.to) - Date.parse(day.from)).toBe(DAY_MS);
    expect(day.buckets.map((b: { bucketStart: string }) => b.bucketStart)).toEqual([recent.toISOString()]);

    // Oldest first whatever the order of the writes; numbers exactly as stored (the body is built by
    // PostgreSQL, not by JSON.stringify).
    await pg.query(`DELETE FROM usage_buckets`);
    const starts = [3, 1, 2].map((h) => new Date(recent.getTime() - h * 3_600_000));
    for (const [i, start] of starts.entries()) {
      await pg.query(`INSERT INTO usage_buckets (app_id, bucket_start, cpu_avg, mem_avg, mem_max, net_rx, net_tx, samples) VALUES ($1, $2, $3, $4, $5, $6, $7, 1)`, [
        appId,
        start,
        [12.345678901234567, 0.1, 1e-7][i],
        [104155800.17605227, 2 ** 31, 0][i],
        2 ** 40 + i,
        9_007_199_254_740_991 - i,
        i,
      ]);
    }
    const ordered = await jsonOf(await cp.api(`/api/apps/${appId}/usage?from=${new Date(now - DAY_MS).toISOString()}`));
    expect(ordered.buckets).toEqual([
      { bucketStart: starts[0].toISOString(), cpuAvg: 12.345678901234567, memAvg: 104155800.17605227, memMax: 2 ** 40, netRx: 9_007_199_254_740_991, netTx: 0 },
      { bucketStart: starts[2].toISOString(), cpuAvg: 1e-7, memAvg: 0, memMax: 2 ** 40 + 2, netRx: 9_007_199_254_740_989, netTx: 2 },
      { bucketStart: starts[1].toISOString(), cpuAvg: 0.1, memAvg: 2 ** 31, memMax: 2 ** 40 + 1, netRx: 9_007_199_254_740_990, netTx: 1 },
    ]);
    // The whole 90 days (read in parts): the same buckets, none from the empty older part.
    const whole = await jsonOf(await cp.api(`/api/apps/${appId}/usage?from=${new Date(now - 365 * DAY_MS).toISOString()}`));
    expect(whole.buckets).toEqual(ordered.buckets);
    const empty = await jsonOf(await cp.api(`/api/apps/${appId}/usage?from=${new Date(now - 7 * DAY_MS).toISOString()}&to=${new Date(now - 6 * DAY_MS).toISOString()}`));
    expect(empty.buckets).toEqual([]);

    const bad = await cp.api(`/api/apps/${appId}/usage?from=yesterday`);
    expect(bad.status).toBe(400);
    expect((await jsonOf(bad)).message).toMatch(/from must be an ISO 8601 date-time/);
    const reversed = await cp.api(`/api/apps/${appId}/usage?from=2026-02-02T00:00:00Z&to=2026-01-01T00:00:00Z`);
    expect(reversed.status).toBe(400);
    expect((await cp.api(`/api/apps/00000000-0000-4000-8000-000000000000/usage`)).status).toBe(404);
  });

  it('the answer says its length (Content-Length) and is that many bytes', async () => {
    await pg.query(`DELETE FROM usage_buckets`);
    await insertRow(appId, new Date(Math.floor((Date.now() - 2 * DAY_MS) / USAGE_BUCKET_MS) * USAGE_BUCKET_MS));
    const res = await cp.api(`/api/apps/${appId}/usage?from=${new Date(Date.now() - 3 * DAY_MS).toISOString()}`);
    const body = Buffer.from(await res.arrayBuffer());
    expect(res.headers.get('transfer-encoding')).toBeNull();
    expect(Number(res.headers.get('content-length'))).toBe(body.length);
    expect(JSON.parse(body.toString()).buckets).toHaveLength(1);
    await pg.query(`DELETE FROM usage_buckets`);
  });

  describe('finished days stored as text (usage_days) answer exactly what the buckets say', () => {
    const app = randomUUID();
    const at = (iso: string) => new Date(iso);
    /** The window's buckets as the endpoint must answer them, decoded from the rows themselves. */
    const fromBuckets = async (from: Date, to: Date) =>
      (
        await pg.query(
          `SELECT bucket_start, cpu_avg, mem_avg, mem_max::text, net_rx::text, net_tx::text FROM usage_buckets
           WHERE app_id = $1 AND bucket_start >= $2 AND bucket_start < $3 ORDER BY bucket_start`,
          [app, from, to],
        )
      ).rows.map((r) => ({ bucketStart: r.bucket_start.toISOString(), cpuAvg: r.cpu_avg, memAvg: r.mem_avg, memMax: +r.mem_max, netRx: +r.net_rx, netTx: +r.net_tx }));
    const read = async (now: Date, from?: Date, to?: Date) => {
      const w = clampWindow(from, to, now);
      const pieces = await cp.app.get(UsageRepository).rangeJson(app, w.from, w.to, now);
      return { answered: JSON.parse(`[${pieces.join(',')}]`), expected: await fromBuckets(w.from, w.to) };
    };
    const storedDays = async () => (await pg.query(`SELECT day FROM usage_days WHERE app_id = $1 ORDER BY day`, [app])).rows.map((r) => r.day.toISOString());
    const fill = (from: string, to: string) =>
      pg.query(
        `INSERT INTO usage_buckets (app_id, bucket_start, cpu_avg, mem_avg, mem_max, net_rx, net_tx, samples)
         SELECT $1, b, random() * 100, 1e8 * random(), 2e8 + floor(random() * 1e6), floor(random() * 1e9), floor(random() * 1e5), 5
         FROM generate_series($2::timestamptz, $3::timestamptz - interval '5 minutes', interval '5 minutes') b`,
        [app, from, to],
      );
    const row = (bucketStart: Date, cpuAvg: number) => ({ appId: app, bucketStart, cpuAvg, memAvg: 7.25, memMax: 9, netRx: 11, netTx: 13, samples: 1 });

    beforeAll(async () => {
      // 90 days before 2026-12-03T00:20Z start at 2026-09-04T00:20Z: buckets on both sides of that
      // instant and of every midnight around it; whole days, then weeks without a bucket, then days
      // again up to yesterday's last bucket and today's first.
      await fill('2026-09-03T23:00:00Z', '2026-09-07T01:00:00Z');
      await fill('2026-10-01T12:00:00Z', '2026-10-02T00:00:00Z');
      await fill('2026-11-28T00:00:00Z', '2026-12-03T00:20:00Z');
    });

    it('over the 90-day clamp, the day boundaries and the gaps; the finished days are stored', async () => {
      const now = at('2026-12-03T00:20:00.000Z');
      const first = await read(now, at('2020-01-01T00:00:00Z'));
      expect(first.answered[0].bucketStart).toBe('2026-09-04T00:20:00.000Z');
      expect(first.answered.at(-1).bucketStart).toBe('2026-12-03T00:15:00.000Z');
      expect(first.answered).toHaveLength(first.expected.length);
      expect(first.answered).toEqual(first.expected);
      // Every whole day from 09-05 up to 12-01; yesterday is still within its settling hour.
      const days = await storedDays();
      expect(days).toHaveLength(88);
      expect([days[0], days.at(-1)]).toEqual(['2026-09-05T00:00:00.000Z', '2026-12-01T00:00:00.000Z']);
      // Read again from the stored days: the same answer.
      expect((await read(now, at('2020-01-01T00:00:00Z'))).answered).toEqual(first.expected);
      // Windows that start and end inside days, on midnights, and inside a gap.
      for (const [from, to] of [
        ['2026-09-04T23:55:00Z', '2026-09-06T00:05:00Z'],
        ['2026-09-05T00:00:00Z', '2026-09-07T00:00:00Z'],
        ['2026-09-20T00:00:00Z', '2026-10-01T12:05:00Z'],
        ['2026-11-27T23:59:59.999Z', '2026-12-02T23:55:00Z'],
      ]) {
        const part = await read(now, at(from), at(to));
        expect(part.answered).toEqual(part.expected);
      }
    });

    it('a late write within the settling hour is answered, and stored once the day is finished', async () => {
      const repo = cp.app.get(UsageRepository);
      await repo.upsert([row(at('2026-12-02T23:55:00Z'), 42.5)]);
      const late = await read(at('2026-12-03T00:50:00.000Z'), at('2026-12-02T00:00:00Z'));
      expect(late.answered.find((b: { bucketStart: string }) => b.bucketStart === '2026-12-02T23:55:00.000Z').cpuAvg).toBe(42.5);
      expect(late.answered).toEqual(late.expected);
      expect(await storedDays()).not.toContain('2026-12-02T00:00:00.000Z');

      const settled = await read(at('2026-12-03T01:00:00.000Z'), at('2020-01-01T00:00:00Z'));
      expect(await storedDays()).toContain('2026-12-02T00:00:00.000Z');
      expect(settled.answered).toEqual(settled.expected);
    });

    it('any write to the buckets of a stored day makes it read from the buckets again', async () => {
      const repo = cp.app.get(UsageRepository);
      const now = at('2026-12-03T02:00:00.000Z');
      const check = async () => {
        const r = await read(now, at('2020-01-01T00:00:00Z'));
        expect(r.answered).toEqual(r.expected);
        return r.answered as { bucketStart: string; cpuAvg: number }[];
      };
      await check();
      await repo.upsert([row(at('2026-09-05T12:00:00Z'), 1.5), row(at('2026-09-20T08:00:00Z'), 2.5)]); // a changed bucket, one in a gap
      expect(await storedDays()).not.toContain('2026-09-05T00:00:00.000Z');
      expect(await storedDays()).not.toContain('2026-09-20T00:00:00.000Z');
      expect((await check()).filter((b) => b.cpuAvg === 1.5 || b.cpuAvg === 2.5)).toHaveLength(2);
      expect(await storedDays()).toContain('2026-09-20T00:00:00.000Z');

      await pg.query(`DELETE FROM usage_buckets WHERE app_id = $1 AND bucket_start >= '2026-11-29T06:00:00Z' AND bucket_start < '2026-11-29T07:00:00Z'`, [app]);
      await pg.query(`UPDATE usage_buckets SET bucket_start = bucket_start + interval '10 days' WHERE app_id = $1 AND bucket_start = '2026-09-06T00:00:00Z'`, [app]);
      const after = await check();
      expect(after.some((b) => b.bucketStart === '2026-11-29T06:30:00.000Z')).toBe(false);
      expect(after.some((b) => b.bucketStart === '2026-09-16T00:00:00.000Z')).toBe(true);
    });

    it('the pruner deletes stored days before the cutoff with the buckets', async () => {
      await cp.app.get(UsageRepository).pruneBefore(at('2026-09-06T00:00:00Z'));
      expect((await storedDays())[0]).toBe('2026-09-06T00:00:00.000Z');
      const r = await read(at('2026-12-03T02:00:00.000Z'), at('2020-01-01T00:00:00Z'));
      expect(r.answered[0].bucketStart).toBe('2026-09-06T00:05:00.000Z');
      expect(r.answered).toEqual(r.expected);
      // Deleting every bucket forgets every stored day that had some (the empty ones stay right).
      await pg.query(`DELETE FROM usage_buckets WHERE app_id = $1`, [app]);
      expect((await pg.query(`SELECT count(*)::int AS n FROM usage_days WHERE app_id = $1 AND buckets > 0`, [app])).rows[0].n).toBe(0);
      expect((await read(at('2026-12-03T02:00:00.000Z'), at('2020-01-01T00:00:00Z'))).answered).toEqual([]);
    });
  });
});
