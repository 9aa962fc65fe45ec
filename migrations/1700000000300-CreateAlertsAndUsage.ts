import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Alerts (seed 6) and usage (seed 7).
 * - alert_rules, alert_incidents: read models of the alertrule-<id> streams (rebuilt by their projectors).
 * - alert_apps: the alerts module's own view of the apps (cpus limit, existence), from App* events.
 * - alert_app_exits: every ContainerExited, per app (crashloop and restarts count within a window).
 * - alert_rule_states: the poller's debounce progress per rule (ok / pending since / firing / no data);
 *   not a read model: it is what the poller has seen of the metric, which no event records. Rewritten
 *   in place by every tick that changes a rule's state: half-empty pages keep those updates HOT.
 * - alert_outbox: one row per (incident, edge, channel), written with the projector checkpoint of the
 *   edge event; the sender claims a row for a lease (claimed_until, claim), delivers it and records
 *   each attempt.
 * - usage_buckets: telemetry, one row per (app, 5-minute bucket), pruned after 90 days.
 */
export class CreateAlertsAndUsage1700000000300 implements MigrationInterface {
  name = 'CreateAlertsAndUsage1700000000300';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE alert_rules (
        id              uuid        PRIMARY KEY,
        app_id          uuid        NOT NULL,
        kind            text        NOT NULL,
        threshold       double precision,
        sustain_minutes integer,
        enabled         boolean     NOT NULL,
        channels        jsonb       NOT NULL,
        open_incident_id uuid,
        version         integer     NOT NULL,
        created_at      timestamptz NOT NULL,
        updated_at      timestamptz NOT NULL
      )`);
    await q.query(`CREATE INDEX alert_rules_app ON alert_rules (app_id, created_at)`);
    await q.query(`CREATE INDEX alert_rules_kind_enabled ON alert_rules (kind) WHERE enabled`);
    await q.query(`
      CREATE TABLE alert_apps (
        app_id uuid             PRIMARY KEY,
        cpus   double precision
      )`);
    await q.query(`
      CREATE TABLE alert_app_exits (
        event_id     uuid        PRIMARY KEY,
        app_id       uuid        NOT NULL,
        container_id text        NOT NULL,
        exit_code    integer     NOT NULL,
        at           timestamptz NOT NULL
      )`);
    await q.query(`CREATE INDEX alert_app_exits_app_at ON alert_app_exits (app_id, at DESC)`);
    await q.query(`
      CREATE TABLE alert_incidents (
        id          uuid        PRIMARY KEY,
        rule_id     uuid        NOT NULL,
        app_id      uuid        NOT NULL,
        kind        text        NOT NULL,
        state       text        NOT NULL,
        fired_at    timestamptz NOT NULL,
        resolved_at timestamptz,
        value       double precision,
        resolved_value double precision
      )`);
    await q.query(`CREATE INDEX alert_incidents_app_fired ON alert_incidents (app_id, fired_at DESC)`);
    await q.query(`
      CREATE TABLE alert_rule_states (
        rule_id    uuid        PRIMARY KEY,
        phase      text        NOT NULL,
        since      timestamptz,
        no_data    boolean     NOT NULL DEFAULT false,
        value      double precision,
        updated_at timestamptz NOT NULL
      ) WITH (fillfactor = 50)`);
    await q.query(`
      CREATE TABLE alert_outbox (
        id              uuid        PRIMARY KEY,
        incident_id     uuid        NOT NULL,
        edge            text        NOT NULL,
        channel_key     text        NOT NULL,
        channel         jsonb       NOT NULL,
        payload         jsonb       NOT NULL,
        status          text        NOT NULL DEFAULT 'pending',
        attempts        jsonb       NOT NULL DEFAULT '[]',
        next_attempt_at timestamptz NOT NULL,
        claimed_until   timestamptz,
        claim           uuid,
        sent_at         timestamptz,
        created_at      timestamptz NOT NULL,
        UNIQUE (incident_id, edge, channel_key)
      )`);
    await q.query(`CREATE INDEX alert_outbox_due ON alert_outbox (next_attempt_at) WHERE status = 'pending'`);
    await q.query(`
      CREATE TABLE usage_buckets (
        app_id       uuid             NOT NULL,
        bucket_start timestamptz      NOT NULL,
        cpu_avg      double precision NOT NULL,
        mem_avg      double precision NOT NULL,
        mem_max      bigint           NOT NULL,
        net_rx       bigint           NOT NULL,
        net_tx       bigint           NOT NULL,
        samples      integer          NOT NULL,
        PRIMARY KEY (app_id, bucket_start)
      )`);
    await q.query(`CREATE INDEX usage_buckets_bucket_start ON usage_buckets (bucket_start)`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ['usage_buckets', 'alert_outbox', 'alert_rule_states', 'alert_incidents', 'alert_app_exits', 'alert_apps', 'alert_rules']) {
      await q.query(`DROP TABLE ${t}`);
    }
  }
}
