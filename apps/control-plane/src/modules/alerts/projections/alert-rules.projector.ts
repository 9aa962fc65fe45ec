import type { AlertEvent } from '@berth/contracts';
import type { Projector, StoredEvent } from '@berth/event-store';
import type { PoolClient } from 'pg';
import { assertUnreachable } from '../../../common/errors';

/**
 * Read models `alert_rules` (one row per live rule; `open_incident_id` while it fires) and
 * `alert_incidents` (one row per incident: fired, then resolved). An edge stamps the rule's
 * updated_at with the edge's own time (the poller's clock), so the poller can tell its state row from
 * a newer change of the rule (see reconcileState).
 */
export const alertRulesProjector: Projector = {
  name: 'alert-rules',
  tables: ['alert_rules', 'alert_incidents'],
  handles: ['AlertRuleCreated', 'AlertRuleChanged', 'AlertRuleDeleted', 'AlertFired', 'AlertResolved'],

  async apply(stored: StoredEvent, client: PoolClient) {
    const event = stored as unknown as AlertEvent;
    const at = stored.occurredAt;
    switch (event.type) {
      case 'AlertRuleCreated':
      case 'AlertRuleChanged': {
        const d = event.data;
        await client.query(
          `INSERT INTO alert_rules (id, app_id, kind, threshold, sustain_minutes, enabled, channels, version, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)
           ON CONFLICT (id) DO UPDATE SET kind = $3, threshold = $4, sustain_minutes = $5, enabled = $6, channels = $7, version = $8, updated_at = $9`,
          [d.ruleId, d.appId, d.kind, d.threshold ?? null, d.sustainMinutes ?? null, d.enabled, JSON.stringify(d.channels), stored.version, at],
        );
        return;
      }
      case 'AlertRuleDeleted':
        await client.query(`DELETE FROM alert_rules WHERE id = $1`, [event.data.ruleId]);
        return;
      case 'AlertFired': {
        const d = event.data;
        await client.query(`UPDATE alert_rules SET open_incident_id = $2, version = $3, updated_at = $4 WHERE id = $1`, [d.ruleId, d.incidentId, stored.version, d.at]);
        await client.query(
          `INSERT INTO alert_incidents (id, rule_id, app_id, kind, state, fired_at, value) VALUES ($1, $2, $3, $4, 'firing', $5, $6) ON CONFLICT (id) DO NOTHING`,
          [d.incidentId, d.ruleId, d.appId, d.kind, d.at, d.value ?? null],
        );
        return;
      }
      case 'AlertResolved': {
        const d = event.data;
        await client.query(`UPDATE alert_rules SET open_incident_id = NULL, version = $2, updated_at = $3 WHERE id = $1`, [d.ruleId, stored.version, d.at]);
        await client.query(`UPDATE alert_incidents SET state = 'resolved', resolved_at = $2, resolved_value = $3 WHERE id = $1`, [d.incidentId, d.at, d.value ?? null]);
        return;
      }
      default:
        return assertUnreachable(event);
    }
  },
};
