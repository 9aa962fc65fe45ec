import { Inject, Injectable } from '@nestjs/common';
import { DAY_MS, USAGE_BUCKET_MS } from '@berth/core';
import type { Pool } from 'pg';
import { PG_POOL } from '../../database/pg-pool';
import type { UsageRow } from './usage-bucket';

export interface UsageBucketView {
  bucketStart: string;
  cpuAvg: number;
  memAvg: number;
  memMax: number;
  netRx: number;
  netTx: number;
}

/**
 * The longest stretch of buckets rangeJson reads in one statement (45 days: 12,960 buckets); 90 days
 * are read as two halves at once.
 */
const READ_PART_MS = 45 * DAY_MS;

/** Rows deleted per statement by the pruner. */
export const PRUNE_BATCH = 10_000;

/** The usage module's table `usage_buckets`, and nothing else's. */
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
   * again cost more than the query itself. Writing the text is most of the query's time, so a window
   * longer than READ_PART_MS is read as consecutive parts on separate connections at once.
   */
  async rangeJson(appId: string, from: Date, to: Date): Promise<string[]> {
    const parts = Math.max(1, Math.ceil((to.getTime() - from.getTime()) / READ_PART_MS));
    const step = Math.ceil((to.getTime() - from.getTime()) / parts / USAGE_BUCKET_MS) * USAGE_BUCKET_MS;
    const bounds = Array.from({ length: parts + 1 }, (_, i) => new Date(i === parts ? to.getTime() : Math.min(from.getTime() + i * step, to.getTime())));
    const texts = await Promise.all(bounds.slice(1).map((end, i) => this.partJson(appId, bounds[i], end)));
    return texts.filter((t) => t.length > 0);
  }

  /**
   * One part of rangeJson: its bucket objects separated by commas (empty when there are none).
   * Numbers are PostgreSQL's shortest exact text (what JSON.stringify writes for the same double), the
   * start is Date#toISOString's form. The ARRAY(subquery) keeps the key's order without sorting the
   * built texts (an aggregate's own ORDER BY would sort them, spilling to disk past work_mem), and the
   * key carries every column read, so this is an index-only scan.
   */
  private async partJson(appId: string, from: Date, to: Date): Promise<string> {
    const { rows } = await this.pool.query<{ json: string }>(
      `SELECT array_to_string(ARRAY(
                SELECT concat('{"bucketStart":"', to_char(bucket_start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), '","cpuAvg":', cpu_avg,
                              ',"memAvg":', mem_avg, ',"memMax":', mem_max, ',"netRx":', net_rx, ',"netTx":', net_tx, '}')
                FROM usage_buckets WHERE app_id = $1 AND bucket_start >= $2 AND bucket_start < $3 ORDER BY bucket_start), ',') AS json`,
      [appId, from, to],
    );
    return rows[0].json;
  }

  /** Deletes rows whose bucket starts before `cutoff`, PRUNE_BATCH at a time; resolves to how many. */
  async pruneBefore(cutoff: Date, batch = PRUNE_BATCH): Promise<number> {
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
