import type { AppStatsView } from '@berth/contracts';
import { describe, expect, it } from 'vitest';
import { evaluateCrashloop, evaluateThreshold, INITIAL_RULE_STATE, metricSample, restartsIn, statusOf, type Edge, type RuleState, type Sample, type ThresholdRule } from './alert-evaluator';

const T0 = new Date('2026-12-03T10:00:00.000Z');
const at = (minutes: number) => new Date(T0.getTime() + minutes * 60_000);
const cpuRule = { kind: 'cpu' as const, threshold: 80, sustainMinutes: 5 };

/** Feeds samples [minute, value | null (live: false)] through the evaluator; returns the edges with their minute and the last state. */
function run(samples: [number, number | null][], rule: ThresholdRule = cpuRule, start: RuleState = INITIAL_RULE_STATE) {
  let state = start;
  const edges: [number, Edge['type']][] = [];
  for (const [minute, value] of samples) {
    const sample: Sample = value === null ? { live: false } : { live: true, value };
    const next = evaluateThreshold(rule, state, sample, at(minute));
    if (next.edge) edges.push([minute, next.edge.type]);
    state = next.state;
  }
  return { edges, state };
}

/** A sample every 30 s (the default tick) from `from` to `to` minutes, inclusive. */
const every30s = (from: number, to: number, value: number | null): [number, number | null][] =>
  Array.from({ length: Math.round((to - from) * 2) + 1 }, (_, i) => [from + i / 2, value]);

describe('threshold rules: both edges debounced over sustain_minutes', () => {
  const cases: { name: string; samples: [number, number | null][]; edges: [number, Edge['type']][]; status: string }[] = [
    { name: 'over the threshold for less than the window never fires', samples: [...every30s(0, 4.5, 95), [5, 10]], edges: [], status: 'ok' },
    { name: 'over for exactly the window fires once, at its end', samples: every30s(0, 12, 95), edges: [[5, 'fired']], status: 'firing' },
    { name: 'exactly at the threshold is not over it', samples: every30s(0, 12, 80), edges: [], status: 'ok' },
    {
      name: 'a metric that flaps (over, under, over, …) never fires',
      samples: every30s(0, 30, 0).map(([m], i) => [m, i % 2 === 0 ? 99 : 20] as [number, number]),
      edges: [],
      status: 'pending_fire',
    },
    { name: 'one dip below restarts the window', samples: [...every30s(0, 4, 95), [4.5, 50], ...every30s(5, 9.5, 95)], edges: [], status: 'pending_fire' },
    { name: 'after a dip, the window counts from the next sample over', samples: [...every30s(0, 4, 95), [4.5, 50], ...every30s(5, 10, 95)], edges: [[10, 'fired']], status: 'firing' },
    {
      name: 'resolving needs the full window below',
      samples: [...every30s(0, 5, 95), ...every30s(5.5, 10, 10), [10.5, 10]],
      edges: [[5, 'fired'], [10.5, 'resolved']],
      status: 'ok',
    },
    { name: 'below for less than the window does not resolve', samples: [...every30s(0, 5, 95), ...every30s(5.5, 9.5, 10)], edges: [[5, 'fired']], status: 'pending_resolve' },
    {
      name: 'going over while resolving keeps the incident open without a second fired edge',
      samples: [...every30s(0, 5, 95), ...every30s(5.5, 9, 10), [9.5, 95], ...every30s(10, 14, 10)],
      edges: [[5, 'fired']],
      status: 'pending_resolve',
    },
    { name: 'live: false neither fires nor resolves and shows no_data', samples: [[0, 95], ...every30s(0.5, 20, null)], edges: [], status: 'no_data' },
    {
      name: 'live: false during a firing incident does not resolve it',
      samples: [...every30s(0, 5, 95), ...every30s(5.5, 30, null)],
      edges: [[5, 'fired']],
      status: 'no_data',
    },
    {
      name: 'the window survives a gap without data, but only a real sample completes it',
      samples: [[0, 95], [1, null], [6, null], [7, 95]],
      edges: [[7, 'fired']],
      status: 'firing',
    },
  ];
  it.each(cases)('$name', ({ samples, edges, status }) => {
    const result = run(samples);
    expect(result.edges).toEqual(edges);
    expect(statusOf(result.state)).toBe(status);
  });

  it('live: false changes nothing but the no_data flag', () => {
    const pending: RuleState = { phase: 'pending_fire', since: at(0), noData: false, value: 95 };
    expect(evaluateThreshold(cpuRule, pending, { live: false }, at(10))).toEqual({ state: { ...pending, noData: true } });
  });

  it('restarts: the value is already a count within the window, so both edges are immediate', () => {
    const rule = { kind: 'restarts' as const, threshold: 2, sustainMinutes: 10 };
    expect(run([[0, 1], [1, 2], [2, 3], [3, 3], [12, 0]], rule).edges).toEqual([
      [2, 'fired'],
      [12, 'resolved'],
    ]);
  });
});

describe('crashloop: 3 exits within 5 minutes fire; up for 5 minutes resolves', () => {
  const exitsAt = (...minutes: number[]) => minutes.map(at);
  it.each([
    { name: 'two exits within 5 minutes do not fire', exits: exitsAt(0, 1), now: 2, live: false, edge: undefined },
    { name: 'three exits within 5 minutes fire', exits: exitsAt(0, 1, 2), now: 2, live: false, edge: 'fired' },
    { name: 'three exits spread over more than 5 minutes do not fire', exits: exitsAt(0, 3, 5), now: 5, live: false, edge: undefined },
  ])('$name', ({ exits, now, live, edge }) => {
    expect(evaluateCrashloop(INITIAL_RULE_STATE, { exits, live }, at(now)).edge?.type).toBe(edge);
  });

  const firing: RuleState = { phase: 'firing', noData: false };
  it.each([
    { name: 'up for 5 minutes after the last exit resolves', now: 7, live: true, edge: 'resolved' },
    { name: 'up for less than 5 minutes does not resolve', now: 6.9, live: true, edge: undefined },
    { name: 'not running (no live stats) does not resolve', now: 30, live: false, edge: undefined },
  ])('$name', ({ now, live, edge }) => {
    expect(evaluateCrashloop(firing, { exits: exitsAt(0, 1, 2), live }, at(now)).edge?.type).toBe(edge);
  });
});

describe('metric values', () => {
  const stats = (cpuPercent: number, memoryBytes: number, memoryLimitBytes: number): AppStatsView => ({
    live: true,
    sampledAt: T0.toISOString(),
    cpuPercent,
    memoryBytes,
    memoryLimitBytes,
    netRxBytes: 0,
    netTxBytes: 0,
    blockReadBytes: 0,
    blockWriteBytes: 0,
    pids: 1,
    restarts: 0,
  });
  it('cpu is a percent of the app limit (spec.cpus), of one core when unset', () => {
    expect(metricSample('cpu', stats(50, 0, 0), 0.5)).toEqual({ live: true, value: 100 });
    expect(metricSample('cpu', stats(50, 0, 0), null)).toEqual({ live: true, value: 50 });
  });
  it('memory is a percent of the memory limit; no limit reported is no data', () => {
    expect(metricSample('memory', stats(0, 256, 1024), null)).toEqual({ live: true, value: 25 });
    expect(metricSample('memory', stats(0, 256, 0), null)).toEqual({ live: false });
    expect(metricSample('memory', { live: false }, null)).toEqual({ live: false });
  });
  it('restarts counts exits within the window, its start excluded', () => {
    expect(restartsIn([at(0), at(1), at(9)], 10, at(10))).toBe(2);
  });
});
