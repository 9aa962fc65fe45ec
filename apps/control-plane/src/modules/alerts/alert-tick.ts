/**
 * One poller tick, pure: every rule the poller reads, the live stats and container exits it needs, and
 * `now` in; the state rows to write and the edges to append out. Disabled rules and rules of deleted
 * apps are skipped (no state written, no edge); event-driven kinds other than crashloop are decided by
 * the alert reactions, not here.
 */
import type { AlertKind, AppStatsView } from '@berth/contracts';
import {
  evaluateCrashloop,
  evaluateThreshold,
  INITIAL_RULE_STATE,
  metricSample,
  restartsIn,
  type Edge,
  type RuleState,
} from './alert-evaluator';

export interface PolledRule {
  id: string;
  appId: string;
  kind: AlertKind;
  threshold: number | null;
  sustainMinutes: number | null;
  enabled: boolean;
  /** The app still exists (a deleted app's rules are skipped). */
  appExists: boolean;
  /** The app's CPU limit in cores (spec.cpus), when it sets one. */
  cpus: number | null;
  /** What the poller last wrote for this rule, reconciled with the rule's stream (see reconcileState). */
  state: RuleState;
}

export interface TickInputs {
  stats(appId: string): AppStatsView;
  /** Exits of the app's containers within the longest window any rule looks at. */
  exits(appId: string): readonly Date[];
}

export interface TickPlan {
  /** Rules whose state changed (only these are written). */
  states: { ruleId: string; state: RuleState }[];
  edges: { rule: PolledRule; edge: Edge }[];
}

export function planTick(rules: readonly PolledRule[], inputs: TickInputs, now: Date): TickPlan {
  const plan: TickPlan = { states: [], edges: [] };
  for (const rule of rules) {
    if (!rule.enabled || !rule.appExists) continue;
    let next;
    switch (rule.kind) {
      case 'cpu':
      case 'memory':
        next = evaluateThreshold(
          { kind: rule.kind, threshold: rule.threshold ?? 0, sustainMinutes: rule.sustainMinutes ?? 0 },
          rule.state,
          metricSample(rule.kind, inputs.stats(rule.appId), rule.cpus),
          now,
        );
        break;
      case 'restarts':
        next = evaluateThreshold(
          { kind: 'restarts', threshold: rule.threshold ?? 0, sustainMinutes: rule.sustainMinutes ?? 0 },
          rule.state,
          { live: true, value: restartsIn(inputs.exits(rule.appId), rule.sustainMinutes ?? 0, now) },
          now,
        );
        break;
      case 'crashloop':
        next = evaluateCrashloop(rule.state, { exits: inputs.exits(rule.appId), live: inputs.stats(rule.appId).live }, now);
        break;
      default:
        continue;
    }
    if (!sameState(rule.state, next.state)) plan.states.push({ ruleId: rule.id, state: next.state });
    if (next.edge) plan.edges.push({ rule, edge: next.edge });
  }
  return plan;
}

/**
 * The poller's state row against the rule's stream (the alert_rules read model): the newer one wins.
 * A row written after the rule's last event is the poller's own progress; a rule event after the row
 * (changed, re-enabled, or an edge whose state write was lost in a crash) restarts the debounce from
 * what the stream says: an incident open or not.
 */
export function reconcileState(row: (RuleState & { updatedAt: Date }) | undefined, rule: { incidentOpen: boolean; updatedAt: Date }): RuleState {
  if (row && row.updatedAt.getTime() >= rule.updatedAt.getTime()) {
    const { updatedAt: _u, ...state } = row;
    return state;
  }
  return rule.incidentOpen ? { phase: 'firing', noData: false } : INITIAL_RULE_STATE;
}

/** The last value alone is not worth a write per rule per tick; it is written with the next change. */
function sameState(a: RuleState, b: RuleState): boolean {
  return a.phase === b.phase && a.noData === b.noData && a.since?.getTime() === b.since?.getTime();
}
