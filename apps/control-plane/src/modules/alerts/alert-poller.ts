import { Inject, Injectable, Logger } from '@nestjs/common';
import { streamIds } from '@berth/contracts';
import { ALERT_SUSTAIN_MINUTES_MAX, CRASHLOOP_RESOLVE_AFTER_MS, CRASHLOOP_WINDOW_MS } from '@berth/core';
import { ID_GENERATOR, type IdGenerator } from '../../common/clock';
import { LIVE_STATS, type LiveStatsSource } from '../../common/live-stats-source';
import { StreamHandler } from '../../database/stream-handler';
import { planTick, type PolledRule } from './alert-tick';
import type { Edge } from './alert-evaluator';
import { alertRuleDecider } from './alert-rules.decider';
import { AlertsRepository } from './alerts.repository';

const ACTOR = 'system:alert-poller';
/** The longest window a polled rule looks back over (restarts: sustain_minutes; crashloop: its own). */
const LOOKBACK_MS = Math.max(ALERT_SUSTAIN_MINUTES_MAX * 60_000, CRASHLOOP_WINDOW_MS, CRASHLOOP_RESOLVE_AFTER_MS);

/**
 * Seed 6: "The poller walks every enabled rule across every app on each tick." One tick: read every
 * enabled polled rule with its state (one query), the exits it needs (one query), plan with the pure
 * evaluator, append each edge to its rule's stream (the decider refuses a second edge, so two pollers
 * or a retried tick never double one), then write the changed state rows (one statement).
 *
 * Debounce progress lives in alert_rule_states, written after the edges: a crash between the two leaves
 * a row older than the edge, and reconcileState then takes the stream's word (incident open or not).
 */
@Injectable()
export class AlertPoller {
  private readonly logger = new Logger('alert-poller');

  constructor(
    private readonly repo: AlertsRepository,
    private readonly streams: StreamHandler,
    @Inject(LIVE_STATS) private readonly stats: LiveStatsSource,
    @Inject(ID_GENERATOR) private readonly ids: IdGenerator,
  ) {}

  /** Resolves to the edges appended. */
  async tick(now: Date): Promise<number> {
    const rules = await this.repo.pollRules();
    const exitApps = [...new Set(rules.filter((r) => r.kind === 'restarts' || r.kind === 'crashloop').map((r) => r.appId))];
    const exits = await this.repo.exitsSince(exitApps, new Date(now.getTime() - LOOKBACK_MS));
    const plan = planTick(rules, { stats: (appId) => this.stats.get(appId), exits: (appId) => exits.get(appId) ?? [] }, now);
    let appended = 0;
    const failed = new Set<string>();
    for (const { rule, edge } of plan.edges) {
      try {
        if (await this.appendEdge(rule, edge, now)) appended++;
      } catch (err) {
        // Its state stays as it was, so the next tick decides this edge again.
        failed.add(rule.id);
        this.logger.error({ err, ruleId: rule.id, edge: edge.type, msg: 'could not append an alert edge; the next tick decides again' });
      }
    }
    await this.repo.writeStates(failed.size === 0 ? plan.states : plan.states.filter((s) => !failed.has(s.ruleId)), now);
    return appended;
  }

  private async appendEdge(rule: PolledRule, edge: Edge, now: Date): Promise<boolean> {
    const command =
      edge.type === 'fired' ? { type: 'Fire' as const, incidentId: this.ids.newId(), value: edge.value, at: now } : { type: 'Resolve' as const, value: edge.value, at: now };
    const { appended } = await this.streams.handle(streamIds.alertRule(rule.id), 'alertrule', alertRuleDecider, command, { actor: ACTOR }, { waitForProjections: false });
    return appended.length > 0;
  }
}
