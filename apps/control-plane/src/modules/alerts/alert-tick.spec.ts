import type { AppStatsView } from '@berth/contracts';
import { describe, expect, it } from 'vitest';
import { INITIAL_RULE_STATE } from './alert-evaluator';
import { planTick, reconcileState, type PolledRule } from './alert-tick';

const T0 = new Date('2026-12-03T10:00:00.000Z');
const at = (minutes: number) => new Date(T0.getTime() + minutes * 60_000);
const hot: AppStatsView = {
  live: true,
  sampledAt: T0.toISOString(),
  cpuPercent: 95,
  memoryBytes: 95,
  memoryLimitBytes: 100,
  netRxBytes: 0,
  netTxBytes: 0,
  blockReadBytes: 0,
  blockWriteBytes: 0,
  pids: 1,
  restarts: 0,
};
const rule = (over: Partial<PolledRule> = {}): PolledRule => ({
  id: 'r1',
  appId: 'a1',
  kind: 'cpu',
  threshold: 80,
  sustainMinutes: 5,
  enabled: true,
  appExists: true,
  cpus: null,
  state: { phase: 'pending_fire', since: at(0), noData: false },
  ...over,
});
const inputs = { stats: () => hot, exits: () => [] };

describe('a poller tick', () => {
  it('fires a rule whose window is complete', () => {
    expect(planTick([rule()], inputs, at(5)).edges.map((e) => e.edge.type)).toEqual(['fired']);
  });

  it.each([
    { name: 'a disabled rule', r: rule({ enabled: false }) },
    { name: 'a rule of a deleted app', r: rule({ appExists: false }) },
    { name: 'an event-driven kind (reactions decide it)', r: rule({ kind: 'offline', threshold: null, sustainMinutes: null }) },
  ])('skips $name: no edge, no state written', ({ r }) => {
    expect(planTick([r], inputs, at(5))).toEqual({ states: [], edges: [] });
  });

  it('writes only the rules whose state changed', () => {
    const steady = rule({ id: 'steady', state: { phase: 'firing', noData: false } });
    const starting = rule({ id: 'starting', state: INITIAL_RULE_STATE });
    const plan = planTick([steady, starting], inputs, at(1));
    expect(plan.states.map((s) => s.ruleId)).toEqual(['starting']);
    expect(plan.states[0].state).toMatchObject({ phase: 'pending_fire', since: at(1) });
  });

  it('live: false keeps the window and shows no_data', () => {
    const plan = planTick([rule()], { stats: () => ({ live: false }), exits: () => [] }, at(10));
    expect(plan.edges).toEqual([]);
    expect(plan.states).toEqual([{ ruleId: 'r1', state: { phase: 'pending_fire', since: at(0), noData: true } }]);
  });

  it('restarts counts exits within sustain_minutes; crashloop fires on the third exit within 5 minutes', () => {
    const exits = () => [at(0), at(1), at(2)];
    const plan = planTick(
      [rule({ id: 'restarts', kind: 'restarts', threshold: 2, sustainMinutes: 10, state: INITIAL_RULE_STATE }), rule({ id: 'crash', kind: 'crashloop', threshold: null, sustainMinutes: null, state: INITIAL_RULE_STATE })],
      { stats: () => ({ live: false }), exits },
      at(2),
    );
    expect(plan.edges.map((e) => [e.rule.id, e.edge])).toEqual([
      ['restarts', { type: 'fired', value: 3 }],
      ['crash', { type: 'fired', value: 3 }],
    ]);
  });
});

describe('reconciling the poller state row with the rule stream', () => {
  it('keeps the row when it is at least as new as the rule', () => {
    const row = { phase: 'pending_fire' as const, since: at(0), noData: false, updatedAt: at(3) };
    expect(reconcileState(row, { incidentOpen: false, updatedAt: at(3) })).toEqual({ phase: 'pending_fire', since: at(0), noData: false });
  });
  it('takes the stream word when the rule changed after the row (or an edge outran a lost state write)', () => {
    const row = { phase: 'pending_fire' as const, since: at(0), noData: false, updatedAt: at(3) };
    expect(reconcileState(row, { incidentOpen: true, updatedAt: at(4) })).toEqual({ phase: 'firing', noData: false });
    expect(reconcileState(undefined, { incidentOpen: false, updatedAt: at(4) })).toEqual(INITIAL_RULE_STATE);
  });
});
