import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * usage_buckets: the primary key (app_id, bucket_start) carries the bucket's values (INCLUDE), so the
 * usage endpoint's read of one app is an index-only scan over that app's contiguous run of leaf pages.
 * The recorder writes every app's bucket each minute, so one app's rows lie about one per heap page:
 * 90 days through the heap are ~25,920 page visits, through the key a few hundred.
 *
 * An index-only scan skips the heap only for pages the visibility map marks all-visible, which is
 * vacuum's work; buckets never change once their 5 minutes are over, so vacuuming after every ~1 % of
 * new or rewritten rows keeps all but the latest pages marked (vacuum skips pages already marked).
 */
export class UsageCoveringKey1700000000301 implements MigrationInterface {
  name = 'UsageCoveringKey1700000000301';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE usage_buckets
        DROP CONSTRAINT usage_buckets_pkey,
        ADD PRIMARY KEY (app_id, bucket_start) INCLUDE (cpu_avg, mem_avg, mem_max, net_rx, net_tx)`);
    await q.query(`ALTER TABLE usage_buckets SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_insert_scale_factor = 0.01)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE usage_buckets RESET (autovacuum_vacuum_scale_factor, autovacuum_vacuum_insert_scale_factor)`);
    await q.query(`ALTER TABLE usage_buckets DROP CONSTRAINT usage_buckets_pkey, ADD PRIMARY KEY (app_id, bucket_start)`);
  }
}
