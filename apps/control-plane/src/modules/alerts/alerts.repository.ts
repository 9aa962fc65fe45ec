import { Inject, Injectable } from '@nestjs/common';
import type { AlertChannel, AlertKind } from '@berth/contracts';
import type { Pool } from 'pg';
import type { AlertNotification } from './projections/alert-outbox.projector';
import { PG_POOL } from '../../database/pg-pool';
import { statusOf, type AlertPhase, type RuleState } from './alert-evaluator';
import type { PolledRule } from './alert-tick';
import { reconcileState } from './alert-tick';

export interface AlertRuleView {
  id: string;
  appId: string;
  kind: AlertKind;
  threshold?: number;
  sustainMinutes?: number;
  enabled: boolean;
  channels: AlertChannel[];
  /** ok, pending_fire, firing, pending_resolve, or no_data (the last tick had no sample). */
  status: AlertPhase | 'no_data';
  createdAt: string;
  updatedAt: string;
}

export interface DeliveryAttempt {
  at: string;
  ok: boolean;
  error?: string;
}

export interface DeliveryView {
  id: string;
  edge: 'fired' | 'resolved';
  channel: AlertChannel;
  status: 'pending' | 'sent' | 'failed';
  attempts: DeliveryAttempt[];
  sentAt?: string;
}

export interface IncidentView {
  id: string;
  ruleId: string;
  kind: AlertKind;
  state: 'firing' | 'resolved';
  firedAt: string;
  resolvedAt?: string;
  value?: number;
  deliveries: DeliveryView[];
}

/** A pollRules row (array mode): booleans arrive as 't'/'f', numbers as numbers. */
type PollRow = [
  id: string,
  appId: string,
  kind: AlertKind,
  threshold: number | null,
  sustainMinutes: string | null,
  incidentOpen: string,
  ruleUpdatedMs: number,
  phase: AlertPhase | null,
  sinceMs: number | null,
  noData: string | null,
  stateUpdatedMs: number | null,
  cpus: number | null,
  appExists: string,
];

interface RuleRow {
  id: string;
  app_id: string;
  kind: AlertKind;
  threshold: number | null;
  sustain_minutes: number | null;
  enabled: boolean;
  channels: AlertChannel[];
  open_incident_id: string | null;
  created_at: Date;
  updated_at: Date;
  phase: AlertPhase | null;
  since: Date | null;
  no_data: boolean | null;
  value: number | null;
  state_updated_at: Date | null;
}

const SELECT_RULES = `
  SELECT r.id, r.app_id, r.kind, r.threshold, r.sustain_minutes, r.enabled, r.channels, r.open_incident_id, r.created_at, r.updated_at,
         s.phase, s.since, s.no_data, s.value, s.updated_at AS state_updated_at
  FROM alert_rules r LEFT JOIN alert_rule_states s ON s.rule_id = r.id`;

/** Time-window kinds the poller evaluates; offline and deployment_failed are decided by reactions. */
const POLLED_KINDS: AlertKind[] = ['cpu', 'memory', 'restarts', 'crashloop'];

/** The alerts module's tables, and nothing else's. */
@Injectable()
export class AlertsRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  async listRules(appId: string): Promise<AlertRuleView[]> {
    const { rows } = await this.pool.query<RuleRow>(`${SELECT_RULES} WHERE r.app_id = $1 ORDER BY r.created_at, r.id`, [appId]);
    return rows.map(toRuleView);
  }

  async getRule(ruleId: string): Promise<AlertRuleView | undefined> {
    const { rows } = await this.pool.query<RuleRow>(`${SELECT_RULES} WHERE r.id = $1`, [ruleId]);
    return rows[0] && toRuleView(rows[0]);
  }

  /**
   * Every enabled rule the poller evaluates, with its reconciled state and what it knows of its app.
   * Times come as epoch milliseconds (numbers): for 10,000 rules the driver's per-value date parsing
   * would cost more than the query.
   */
  async pollRules(): Promise<PolledRule[]> {
    const { rows } = await this.pool.query<PollRow>({
      text: `SELECT r.id, r.app_id, r.kind, r.threshold, r.sustain_minutes, r.open_incident_id IS NOT NULL, extract(epoch FROM r.updated_at) * 1000,
                    s.phase, extract(epoch FROM s.since) * 1000, s.no_data, extract(epoch FROM s.updated_at) * 1000, a.cpus, a.app_id IS NOT NULL
             FROM alert_rules r
             LEFT JOIN alert_rule_states s ON s.rule_id = r.id
             LEFT JOIN alert_apps a ON a.app_id = r.app_id
             WHERE r.enabled AND r.kind = ANY($1)`,
      values: [POLLED_KINDS],
      rowMode: 'array',
      types: { getTypeParser: (oid: number) => (oid === 1700 || oid === 701 ? Number : (v: string) => v) } as never,
    });
    return rows.map(([id, appId, kind, threshold, sustainMinutes, incidentOpen, ruleUpdatedMs, phase, sinceMs, noData, stateUpdatedMs, cpus, appExists]) => {
      const row = phase
        ? { phase, since: sinceMs === null ? undefined : new Date(sinceMs), noData: noData === 't', updatedAt: new Date(stateUpdatedMs!) }
        : undefined;
      return {
        id,
        appId,
        kind,
        threshold,
        sustainMinutes: sustainMinutes === null ? null : Number(sustainMinutes),
        enabled: true,
        appExists: appExists === 't',
        cpus,
        state: reconcileState(row, { incidentOpen: incidentOpen === 't', updatedAt: new Date(ruleUpdatedMs) }),
      };
    });
  }

  /** Container exits of these apps after `since`, per app. */
  async exitsSince(appIds: string[], since: Date): Promise<Map<string, Date[]>> {
    const out = new Map<string, Date[]>();
    if (appIds.length === 0) return out;
    const { rows } = await this.pool.query<{ app_id: string; at: Date }>(`SELECT app_id, at FROM alert_app_exits WHERE app_id = ANY($1::uuid[]) AND at > $2`, [
      appIds,
      since,
    ]);
    for (const r of rows) {
      const list = out.get(r.app_id) ?? [];
      list.push(r.at);
      out.set(r.app_id, list);
    }
    return out;
  }

  /**
   * Writes the poller's state rows (only the rules whose state changed) in one statement: an UPDATE,
   * which is one WAL record a row where an upsert that finds the row writes two; only when a rule has
   * no row yet (new, or its row is gone) does a second statement upsert them all. The five columns go
   * as PostgreSQL array literals written here: every element is a uuid, a phase name, a number or a
   * boolean, none of which needs quoting, and for 10,000 rows the driver's general array encoding
   * (quoting and escaping each element) cost about as much as the server's write.
   */
  async writeStates(states: { ruleId: string; state: RuleState }[], now: Date): Promise<void> {
    if (states.length === 0) return;
    const values = [
      arrayLiteral(states.map((s) => s.ruleId)),
      arrayLiteral(states.map((s) => s.state.phase)),
      arrayLiteral(states.map((s) => s.state.since?.getTime() ?? null)),
      arrayLiteral(states.map((s) => s.state.noData)),
      arrayLiteral(states.map((s) => (s.state.value === undefined || !Number.isFinite(s.state.value) ? null : s.state.value))),
      now,
    ];
    const changes = `unnest($1::uuid[], $2::text[], $3::float8[], $4::boolean[], $5::float8[]) AS u(rule_id, phase, since_ms, no_data, value)`;
    const { rowCount } = await this.pool.query(
      `UPDATE alert_rule_states s SET phase = u.phase, since = to_timestamp(u.since_ms / 1000.0), no_data = u.no_data, value = u.value, updated_at = $6::timestamptz
       FROM ${changes} WHERE s.rule_id = u.rule_id`,
      values,
    );
    if (rowCount === states.length) return;
    await this.pool.query(
      `INSERT INTO alert_rule_states (rule_id, phase, since, no_data, value, updated_at)
       SELECT u.rule_id, u.phase, to_timestamp(u.since_ms / 1000.0), u.no_data, u.value, $6::timestamptz FROM ${changes}
       ON CONFLICT (rule_id) DO UPDATE SET phase = EXCLUDED.phase, since = EXCLUDED.since, no_data = EXCLUDED.no_data, value = EXCLUDED.value, updated_at = EXCLUDED.updated_at`,
      values,
    );
  }

  /**
   * Enabled rules of one kind on one app that existed at `at` (the reactions fire and resolve them; a
   * reaction catching up on old events must not fire a rule made after them).
   */
  async ruleIdsOf(appId: string, kind: AlertKind, at: Date): Promise<string[]> {
    const { rows } = await this.pool.query<{ id: string }>(`SELECT id FROM alert_rules WHERE app_id = $1 AND kind = $2 AND enabled AND created_at <= $3`, [
      appId,
      kind,
      at,
    ]);
    return rows.map((r) => r.id);
  }

  /** Every rule of an app, enabled or not. */
  async allRuleIdsOf(appId: string): Promise<string[]> {
    const { rows } = await this.pool.query<{ id: string }>(`SELECT id FROM alert_rules WHERE app_id = $1`, [appId]);
    return rows.map((r) => r.id);
  }

  async incidents(appId: string, limit = 100): Promise<IncidentView[]> {
    const { rows } = await this.pool.query<{
      id: string;
      rule_id: string;
      kind: AlertKind;
      state: 'firing' | 'resolved';
      fired_at: Date;
      resolved_at: Date | null;
      value: number | null;
      deliveries: { id: string; edge: 'fired' | 'resolved'; channel: AlertChannel; status: DeliveryView['status']; attempts: DeliveryAttempt[]; sent_at: string | null }[] | null;
    }>(
      `SELECT i.id, i.rule_id, i.kind, i.state, i.fired_at, i.resolved_at, i.value,
              (SELECT json_agg(json_build_object('id', o.id, 'edge', o.edge, 'channel', o.channel, 'status', o.status, 'attempts', o.attempts, 'sent_at', o.sent_at)
                               ORDER BY o.edge DESC, o.channel_key)
               FROM alert_outbox o WHERE o.incident_id = i.id) AS deliveries
       FROM alert_incidents i WHERE i.app_id = $1 ORDER BY i.fired_at DESC, i.id LIMIT $2`,
      [appId, limit],
    );
    return rows.map((r) => ({
      id: r.id,
      ruleId: r.rule_id,
      kind: r.kind,
      state: r.state,
      firedAt: r.fired_at.toISOString(),
      ...(r.resolved_at ? { resolvedAt: r.resolved_at.toISOString() } : {}),
      ...(r.value === null ? {} : { value: r.value }),
      deliveries: (r.deliveries ?? []).map((d) => ({
        id: d.id,
        edge: d.edge,
        channel: d.channel,
        status: d.status,
        attempts: d.attempts,
        ...(d.sent_at ? { sentAt: new Date(d.sent_at).toISOString() } : {}),
      })),
    }));
  }
}

export interface OutboxRow {
  id: string;
  channel: AlertChannel;
  payload: AlertNotification;
  attempts: DeliveryAttempt[];
}

/**
 * The notification outbox. A sender claims one due row for a lease (one statement; `FOR UPDATE SKIP
 * LOCKED` so two claimers never take the same row), delivers it without holding a connection, and
 * records the outcome only if its claim still stands.
 */
export class AlertOutbox {
  constructor(private readonly pool: Pool) {}

  async claimDue(now: Date, leaseMs: number, claim: string): Promise<OutboxRow | undefined> {
    const { rows } = await this.pool.query<OutboxRow>(
      `UPDATE alert_outbox SET claimed_until = $2, claim = $3
       WHERE id = (SELECT id FROM alert_outbox
                   WHERE status = 'pending' AND next_attempt_at <= $1 AND (claimed_until IS NULL OR claimed_until <= $1)
                   ORDER BY next_attempt_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
       RETURNING id, channel, payload, attempts`,
      [now, new Date(now.getTime() + leaseMs), claim],
    );
    return rows[0];
  }

  /** false: the claim had lapsed and another sender took the row (nothing written). */
  async markSent(id: string, claim: string, at: Date, attempts: DeliveryAttempt[]): Promise<boolean> {
    return this.finish(id, claim, `status = 'sent', sent_at = $3, attempts = $4`, [at, JSON.stringify(attempts)]);
  }

  async markFailed(id: string, claim: string, attempts: DeliveryAttempt[]): Promise<boolean> {
    return this.finish(id, claim, `status = 'failed', attempts = $3`, [JSON.stringify(attempts)]);
  }

  async retryAt(id: string, claim: string, next: Date, attempts: DeliveryAttempt[]): Promise<boolean> {
    return this.finish(id, claim, `next_attempt_at = $3, attempts = $4`, [next, JSON.stringify(attempts)]);
  }

  private async finish(id: string, claim: string, set: string, values: unknown[]): Promise<boolean> {
    const { rowCount } = await this.pool.query(`UPDATE alert_outbox SET ${set}, claimed_until = NULL, claim = NULL WHERE id = $1 AND claim = $2`, [id, claim, ...values]);
    return rowCount === 1;
  }
}

/**
 * A PostgreSQL array literal of elements that need no quoting (uuids, plain words, finite numbers,
 * booleans); null is NULL.
 */
function arrayLiteral(values: readonly (string | number | boolean | null)[]): string {
  return `{${values.map((v) => (v === null ? 'NULL' : v === true ? 't' : v === false ? 'f' : v)).join(',')}}`;
}

function stateOf(r: RuleRow): RuleState {
  const row = r.phase ? { phase: r.phase, since: r.since ?? undefined, noData: r.no_data ?? false, value: r.value ?? undefined, updatedAt: r.state_updated_at! } : undefined;
  return reconcileState(row, { incidentOpen: r.open_incident_id !== null, updatedAt: r.updated_at });
}

function toRuleView(r: RuleRow): AlertRuleView {
  const polled = POLLED_KINDS.includes(r.kind);
  const state = stateOf(r);
  const status = polled ? statusOf(state) : r.open_incident_id ? 'firing' : 'ok';
  return {
    id: r.id,
    appId: r.app_id,
    kind: r.kind,
    ...(r.threshold === null ? {} : { threshold: r.threshold }),
    ...(r.sustain_minutes === null ? {} : { sustainMinutes: r.sustain_minutes }),
    enabled: r.enabled,
    channels: r.channels,
    status,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
}
