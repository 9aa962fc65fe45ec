import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * usage_days: each app's finished UTC days as ready-made JSON text, so the usage endpoint reads 90
 * days as ~89 stored texts and a day or two of buckets instead of writing 25,920 buckets' text on
 * every request. `body` is the day's bucket objects separated by commas, exactly as the endpoint
 * writes them from usage_buckets (empty for a day without buckets, `buckets` = 0). A day is stored by
 * the first read that needs it once it is finished (usage-days.ts), and pruned with the buckets.
 *
 * The stored days are a copy of usage_buckets, so any write to usage_buckets forgets the stored days it
 * touches (statement triggers over the changed rows). The recorder's writes land in today's buckets,
 * after every stored day, and the pruner deletes stored days before the buckets under them: both pass
 * the trigger's range check without a join. TRUNCATE of the buckets forgets every day.
 */
export class UsageDays1700000000302 implements MigrationInterface {
  name = 'UsageDays1700000000302';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE usage_days (
        app_id  uuid        NOT NULL,
        day     timestamptz NOT NULL,
        buckets integer     NOT NULL,
        body    text        NOT NULL,
        PRIMARY KEY (app_id, day)
      )`);
    await q.query(`CREATE INDEX usage_days_day ON usage_days (day)`);
    await q.query(`
      CREATE FUNCTION usage_days_forget() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        DELETE FROM usage_days d
        USING (SELECT DISTINCT app_id, date_trunc('day', bucket_start, 'UTC') AS day FROM changed
               WHERE bucket_start >= (SELECT min(day) FROM usage_days)
                 AND bucket_start < (SELECT max(day) FROM usage_days) + interval '24 hours') c
        WHERE d.app_id = c.app_id AND d.day = c.day;
        RETURN NULL;
      END $$`);
    await q.query(`CREATE FUNCTION usage_days_forget_all() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN DELETE FROM usage_days; RETURN NULL; END $$`);
    const on = (name: string, event: string, table: string) =>
      q.query(`CREATE TRIGGER ${name} AFTER ${event} ON usage_buckets REFERENCING ${table} TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION usage_days_forget()`);
    await on('usage_days_forget_inserted', 'INSERT', 'NEW');
    await on('usage_days_forget_updated_old', 'UPDATE', 'OLD');
    await on('usage_days_forget_updated_new', 'UPDATE', 'NEW');
    await on('usage_days_forget_deleted', 'DELETE', 'OLD');
    await q.query(`CREATE TRIGGER usage_days_forget_truncated AFTER TRUNCATE ON usage_buckets FOR EACH STATEMENT EXECUTE FUNCTION usage_days_forget_all()`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ['inserted', 'updated_old', 'updated_new', 'deleted', 'truncated']) await q.query(`DROP TRIGGER usage_days_forget_${t} ON usage_buckets`);
    await q.query(`DROP FUNCTION usage_days_forget_all()`);
    await q.query(`DROP FUNCTION usage_days_forget()`);
    await q.query(`DROP TABLE usage_days`);
  }
}
