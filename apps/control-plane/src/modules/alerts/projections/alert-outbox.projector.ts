import type { AlertChannel, EventOfType } from '@berth/contracts';
import type { Projector, StoredEvent } from '@berth/event-store';
import { createHash } from 'node:crypto';
import type { PoolClient } from 'pg';
import { channelKey } from '../alert-rule.rules';

export type AlertEdgeName = 'fired' | 'resolved';

/** What every channel is told about an edge (the webhook body; Slack and email render it as text). */
export interface AlertNotification {
  event: 'alert.fired' | 'alert.resolved';
  incidentId: string;
  ruleId: string;
  appId: string;
  kind: string;
  state: 'firing' | 'resolved';
  value?: number;
  at: string;
}

/**
 * The notification outbox: one row per (incident, edge, channel), inserted in the same transaction as
 * this projector's checkpoint, so an AlertFired/AlertResolved yields its rows exactly once (a replay
 * after a rebuild meets the unique key and adds nothing). The row id is derived from that triple: the
 * X-Berth-Delivery header receivers dedupe on is the same however often the row is built.
 * `tables` is empty on purpose: a rebuild must not forget what was already sent.
 */
export const alertOutboxProjector: Projector = {
  name: 'alert-outbox',
  tables: [],
  handles: ['AlertFired', 'AlertResolved'],

  async apply(stored: StoredEvent, client: PoolClient) {
    const event = stored as unknown as EventOfType<'AlertFired' | 'AlertResolved'>;
    const d = event.data;
    const edge: AlertEdgeName = event.type === 'AlertFired' ? 'fired' : 'resolved';
    const payload: AlertNotification = {
      event: `alert.${edge}`,
      incidentId: d.incidentId,
      ruleId: d.ruleId,
      appId: d.appId,
      kind: d.kind,
      state: edge === 'fired' ? 'firing' : 'resolved',
      ...(d.value === undefined ? {} : { value: d.value }),
      at: d.at,
    };
    for (const channel of d.channels) {
      const key = channelKey(channel);
      await client.query(
        `INSERT INTO alert_outbox (id, incident_id, edge, channel_key, channel, payload, next_attempt_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7) ON CONFLICT (incident_id, edge, channel_key) DO NOTHING`,
        [deliveryId(d.incidentId, edge, channel), d.incidentId, edge, key, JSON.stringify(channel), JSON.stringify(payload), stored.occurredAt],
      );
    }
  },
};

/** A uuid-shaped id, the same for the same (incident, edge, channel). */
export function deliveryId(incidentId: string, edge: AlertEdgeName, channel: AlertChannel): string {
  const h = createHash('sha256').update(`${incidentId}|${edge}|${channelKey(channel)}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16], 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
