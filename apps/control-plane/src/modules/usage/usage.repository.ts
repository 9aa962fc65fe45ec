import { Inject, Injectable } from '@nestjs/common';
import { DAY_MS } from '@berth/core';
import type { Pool } from 'pg';
import { PG_POOL } from '../../database/pg-pool';
import type { UsageRow } from './usage-bucket';
import { planUsageRead } from './usage-days';

export interface UsageBucketView {
  bucketStart: string;
  cpuAvg: number;
  memAvg: number;
  memMax: number;
  netRx: number;
  netTx: number;
}

/** Rows deleted per statement by the pruner. */
export const PRUNE_BATCH = 10_000;

/** The usage module's tables `usage_buckets` and `usage_days`, and nothing else's. */
@Injectable()
export class UsageRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /** One statement: one row per (app, bucket); a second write of the same bucket replaces the first. */
  async upsert(rows: UsageRow[]): Promise<void> {
    if (rows.length === 0) return;
    await this.pool.query(
      `INSERT INTO usage_buckets (app_id, bucket_start, cpu_avg, mem_avg, mem_max, net_rx, net_tx, samples)
       SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::float8[], $4::float8[], $5::bigint[], $6::bigint[], $7::bigint[], $8::int[])
       ON CONFLICT (app_id, bucket_start) DO UPDATE SET cpu_avg = EXCLUDED.cpu_avg, mem_avg = EXCLUDED.mem_avg, mem_max = EXCLUDED.mem_max,
         net_rx = EXCLUDED.net_rx, net_tx = EXCLUDED.net_tx, samples = EXCLUDED.samples`,
      [
        rows.map((r) => r.appId),
        rows.map((r) => r.bucketStart),
        rows.map((r) => r.cpuAvg),
        rows.map((r) => r.memAvg),
        rows.map((r) => Math.round(r.memMax)),
        rows.map((r) => Math.round(r.netRx)),
        rows.map((r) => Math.round(r.netTx)),
        rows.map((r) => r.samples),
      ],
    );
  }

  /** The stored rows of one bucket for these apps (to continue a bucket another replica started). */
  async bucketRows(appIds: string[], bucketStart: Date): Promise<UsageRow[]> {
    if (appIds.length === 0) return [];
    const { rows } = await this.pool.query<RawRow>(`${SELECT} WHERE app_id = ANY($1::uuid[]) AND bucket_start = $2`, [appIds, bucketStart]);
    return rows.map(toRow);
  }

  /**
   * Buckets of one app starting in [from, to), oldest first, as the JSON text of the endpoint's
   * `buckets` array (UsageBucketView[]) without its brackets, in pieces to be sent one after the other
   * with a comma between them (none when there are no buckets). PostgreSQL writes the text and it is
   * sent on as it is: 90 days are 25,920 buckets, and decoding them into objects and serialising them
   * again cost more than the query itself. Writing that text was still most of the time, so finished
   * days are written once and kept (usage_days); the window is read as the parts planUsageRead gives,
   * at once on separate connections: the buckets around the finished days, and the stored days.
   */
  async rangeJson(appId: string, from: Date, to: Date, now: Date): Promise<string[]> {
    const parts = await Promise.all(
      planUsageRead(from, to, now).map(async (p) => (p.source === 'days' ? this.daysJson(appId, p.from, p.to) : [await this.bucketsJson(appId, p.from, p.to)])),
    );
    return parts.flat().filter((t) => t.length > 0);
  }

  /**
   * The buckets of [from, to) as their bucket objects separated by commas (empty when there are none).
   * The ARRAY(subquery) keeps the key's order without sorting the built texts, and the key carries
   * every column read, so this is an index-only scan.
   */
  private async bucketsJson(appId: string, from: Date, to: Date): Promise<string> {
    const { rows } = await this.pool.query<{ json: string }>(
      `SELECT array_to_string(ARRAY(SELECT ${BUCKET_JSON} FROM usage_buckets WHERE app_id = $1 AND bucket_start >= $2 AND bucket_start < $3 ORDER BY bucket_start), ',') AS json`,
      [appId, from, to],
    );
    return rows[0].json;
  }

  /**
   * The finished days starting in [from, to) (whole UTC days) as their stored texts, oldest first,
   * days without buckets left out. Days not stored yet are first written from their buckets and read
   * again; a concurrent read writing the same day keeps the first (both wrote the same text). A day
   * forgotten again in between (a write to its buckets) leaves the days to be read from the buckets.
   */
  private async daysJson(appId: string, from: Date, to: Date): Promise<string[]> {
    let stored = await this.storedDays(appId, from, to);
    const wanted = Math.round((to.getTime() - from.getTime()) / DAY_MS);
    if (stored.length < wanted) {
      const have = new Set(stored.map((d) => d.day.getTime()));
      const missing = Array.from({ length: wanted }, (_, i) => new Date(from.getTime() + i * DAY_MS)).filter((d) => !have.has(d.getTime()));
      await this.storeDays(appId, missing);
      stored = await this.storedDays(appId, from, to);
      if (stored.length < wanted) return [await this.bucketsJson(appId, from, to)];
    }
    return stored.flatMap((d) => (d.body.length > 0 ? [d.body] : []));
  }

  private async storedDays(appId: string, from: Date, to: Date): Promise<{ day: Date; body: string }[]> {
    const { rows } = await this.pool.query<{ day: Date; body: string }>(
      `SELECT day, body FROM usage_days WHERE app_id = $1 AND day >= $2 AND day < $3 ORDER BY day`,
      [appId, from, to],
    );
    return rows;
  }

  /** Writes these days (UTC day starts) of one app from its buckets, as the same text bucketsJson reads. */
  private async storeDays(appId: string, days: Date[]): Promise<void> {
    await this.pool.query(
      `INSERT INTO usage_days (app_id, day, buckets, body)
       SELECT $1, w.day, b.buckets, b.body
       FROM unnest($2::timestamptz[]) AS w(day)
       CROSS JOIN LATERAL (
         SELECT count(*)::int AS buckets, coalesce(string_agg(${BUCKET_JSON}, ',' ORDER BY bucket_start), '') AS body
         FROM usage_buckets WHERE app_id = $1 AND bucket_start >= w.day AND bucket_start < w.day + interval '24 hours') AS b
       ON CONFLICT (app_id, day) DO NOTHING`,
      [appId, days],
    );
  }

  /**
   * Deletes rows whose bucket starts before `cutoff`, PRUNE_BATCH at a time; resolves to how many. The
   * stored days before `cutoff` go first, so the trigger that forgets stored days under deleted rows
   * finds none to look up.
   */
  async pruneBefore(cutoff: Date, batch = PRUNE_BATCH): Promise<number> {
    await this.pool.query(`DELETE FROM usage_days WHERE day < $1`, [cutoff]);
    let total = 0;
    for (;;) {
      const { rowCount } = await this.pool.query(
        `DELETE FROM usage_buckets WHERE (app_id, bucket_start) IN (SELECT app_id, bucket_start FROM usage_buckets WHERE bucket_start < $1 LIMIT $2)`,
        [cutoff, batch],
      );
      total += rowCount ?? 0;
      if ((rowCount ?? 0) < batch) return total;
    }
  }
}

/**
 * One bucket's JSON object (a UsageBucketView), the same text whether read from usage_buckets or stored
 * in usage_days. Numbers are PostgreSQL's shortest exact text (what JSON.stringify writes for the same
 * double), the start is Date#toISOString's form.
 */
const BUCKET_JSON = `concat('{"bucketStart":"', to_char(bucket_start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), '","cpuAvg":', cpu_avg,
  ',"memAvg":', mem_avg, ',"memMax":', mem_max, ',"netRx":', net_rx, ',"netTx":', net_tx, '}')`;

const SELECT = `SELECT app_id, bucket_start, cpu_avg, mem_avg, mem_max::float8 AS mem_max, net_rx::float8 AS net_rx, net_tx::float8 AS net_tx, samples FROM usage_buckets`;

interface RawRow {
  app_id: string;
  bucket_start: Date;
  cpu_avg: number;
  mem_avg: number;
  mem_max: number;
  net_rx: number;
  net_tx: number;
  samples: number;
}

function toRow(r: RawRow): UsageRow {
  return { appId: r.app_id, bucketStart: r.bucket_start, cpuAvg: r.cpu_avg, memAvg: r.mem_avg, memMax: r.mem_max, netRx: r.net_rx, netTx: r.net_tx, samples: r.samples };
}
