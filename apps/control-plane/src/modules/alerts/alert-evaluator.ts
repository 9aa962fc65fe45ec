/**
 * Seed section 6, as pure functions: given a rule, what the poller last knew of it (its state) and a
 * sample taken at `now`, the next state and at most one edge. No framework, no database, time as an
 * argument.
 *
 * Threshold kinds (cpu, memory): "fires only after the metric stays over threshold for sustain_minutes,
 * and resolves only after the same window elapses below the threshold — both edges debounced."
 * - ok --over--> pending_fire(since t) --over at t + window--> firing (edge: fired)
 * - pending_fire --at or below--> ok (a metric that flaps never fires)
 * - firing --at or below--> pending_resolve(since t) --below at t + window--> ok (edge: resolved)
 * - pending_resolve --over--> firing (no edge: the incident never closed)
 * - no sample (`live: false`): nothing changes but the `no_data` flag; the window is not broken by the
 *   gap, but an edge needs a real sample taken at or after the end of the window.
 * "Over" is strictly greater than the threshold.
 *
 * restarts: the value is already a count of container exits within the last sustain_minutes (the
 * window is the counting window), so its edges are immediate: fired when the count exceeds the
 * threshold, resolved when it no longer does (the exits aged out of the window). Debouncing a windowed
 * count a second time would let a burst age out before it could ever fire.
 *
 * crashloop: CRASHLOOP_EXITS exits within CRASHLOOP_WINDOW_MS fire; it resolves once the app has been
 * up (live stats) with no exit for CRASHLOOP_RESOLVE_AFTER_MS.
 */
import type { AlertKind, AppStatsView } from '@berth/contracts';
import { CRASHLOOP_EXITS, CRASHLOOP_RESOLVE_AFTER_MS, CRASHLOOP_WINDOW_MS } from '@berth/core';

export type AlertPhase = 'ok' | 'pending_fire' | 'firing' | 'pending_resolve';

export interface RuleState {
  phase: AlertPhase;
  /** When the pending window started (pending_fire, pending_resolve). */
  since?: Date;
  /** The last tick had no sample: the rule shows `no_data`. */
  noData: boolean;
  /** The last value seen. */
  value?: number;
}

export const INITIAL_RULE_STATE: RuleState = { phase: 'ok', noData: false };

export type Edge = { type: 'fired' | 'resolved'; value?: number };

export interface Evaluation {
  state: RuleState;
  edge?: Edge;
}

export type ThresholdKind = Extract<AlertKind, 'cpu' | 'memory' | 'restarts'>;
export const THRESHOLD_KINDS: readonly ThresholdKind[] = ['cpu', 'memory', 'restarts'];
export const EVENT_KINDS: readonly AlertKind[] = ['offline', 'crashloop', 'deployment_failed'];
export const ALERT_KINDS: readonly AlertKind[] = [...THRESHOLD_KINDS, ...EVENT_KINDS];

export interface ThresholdRule {
  kind: ThresholdKind;
  threshold: number;
  sustainMinutes: number;
}

/** A metric at one instant; `live: false` is a miss (seed 2). */
export type Sample = { live: false } | { live: true; value: number };

/** What the status of a rule reads as in the API. */
export function statusOf(state: RuleState): AlertPhase | 'no_data' {
  return state.noData ? 'no_data' : state.phase;
}

export const isOpen = (phase: AlertPhase): boolean => phase === 'firing' || phase === 'pending_resolve';

export function evaluateThreshold(rule: ThresholdRule, state: RuleState, sample: Sample, now: Date): Evaluation {
  if (!sample.live) return { state: state.noData ? state : { ...state, noData: true } };
  const value = sample.value;
  const over = value > rule.threshold;
  if (rule.kind === 'restarts') {
    if (over && !isOpen(state.phase)) return { state: { phase: 'firing', noData: false, value }, edge: { type: 'fired', value } };
    if (!over && isOpen(state.phase)) return { state: { phase: 'ok', noData: false, value }, edge: { type: 'resolved', value } };
    return { state: { phase: isOpen(state.phase) ? 'firing' : 'ok', noData: false, value } };
  }
  const windowMs = rule.sustainMinutes * 60_000;
  const elapsed = (since: Date | undefined) => now.getTime() - (since ?? now).getTime() >= windowMs;
  switch (state.phase) {
    case 'ok':
      if (!over) return { state: { phase: 'ok', noData: false, value } };
      // A window of zero cannot be configured, but the rule reads the same: the first sample over fires.
      if (windowMs <= 0) return { state: { phase: 'firing', noData: false, value }, edge: { type: 'fired', value } };
      return { state: { phase: 'pending_fire', since: now, noData: false, value } };
    case 'pending_fire':
      if (!over) return { state: { phase: 'ok', noData: false, value } };
      if (elapsed(state.since)) return { state: { phase: 'firing', noData: false, value }, edge: { type: 'fired', value } };
      return { state: { ...state, noData: false, value } };
    case 'firing':
      if (over) return { state: { phase: 'firing', noData: false, value } };
      return { state: { phase: 'pending_resolve', since: now, noData: false, value } };
    case 'pending_resolve':
      if (over) return { state: { phase: 'firing', noData: false, value } };
      if (elapsed(state.since)) return { state: { phase: 'ok', noData: false, value }, edge: { type: 'resolved', value } };
      return { state: { ...state, noData: false, value } };
  }
}

/** Exits of the app's containers, newest or oldest first (order does not matter). */
export interface CrashloopInput {
  exits: readonly Date[];
  /** The app has live stats now (a container is up). */
  live: boolean;
}

export function evaluateCrashloop(state: RuleState, input: CrashloopInput, now: Date): Evaluation {
  const t = now.getTime();
  const recent = input.exits.filter((at) => at.getTime() > t - CRASHLOOP_WINDOW_MS && at.getTime() <= t).length;
  const lastExit = input.exits.reduce((m, at) => Math.max(m, at.getTime()), -Infinity);
  const open = isOpen(state.phase);
  if (!open && recent >= CRASHLOOP_EXITS) return { state: { phase: 'firing', noData: false, value: recent }, edge: { type: 'fired', value: recent } };
  if (open && input.live && t - lastExit >= CRASHLOOP_RESOLVE_AFTER_MS) {
    return { state: { phase: 'ok', noData: false, value: recent }, edge: { type: 'resolved', value: recent } };
  }
  return { state: { phase: open ? 'firing' : 'ok', noData: false, value: recent } };
}

/**
 * The value a threshold rule compares, from the app's live stats:
 * - cpu: percent of the app's CPU limit (spec.cpus cores; of one core when the app sets none), so an
 *   app limited to 0.5 cores using 0.5 of a core is at 100;
 * - memory: percent of the container's memory limit (no limit reported: no data).
 * restarts are counted from ContainerExited events, not from stats (see restartsIn).
 */
export function metricSample(kind: 'cpu' | 'memory', stats: AppStatsView, cpus: number | null | undefined): Sample {
  if (!stats.live) return { live: false };
  if (kind === 'cpu') return { live: true, value: stats.cpuPercent / (cpus && cpus > 0 ? cpus : 1) };
  if (!(stats.memoryLimitBytes > 0)) return { live: false };
  return { live: true, value: (stats.memoryBytes / stats.memoryLimitBytes) * 100 };
}

/** restarts: container exits within the last `sustainMinutes` (a window ending now, start excluded). */
export function restartsIn(exits: readonly Date[], sustainMinutes: number, now: Date): number {
  const from = now.getTime() - sustainMinutes * 60_000;
  return exits.filter((at) => at.getTime() > from && at.getTime() <= now.getTime()).length;
}
