import { DAY_MS, USAGE_BUCKET_MS } from '@berth/core';
import type { AppStatsView } from '@berth/contracts';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StatsStore } from '../apps/control-plane/src/modules/stats/stats.store';
import { feedStats } from './support/live-stats';
import { UsageRecorder } from '../apps/control-plane/src/modules/usage/usage-recorder';
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
});
