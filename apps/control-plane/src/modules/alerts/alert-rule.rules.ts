/**
 * What a valid rule is, as pure functions (the DTOs check shapes; these check what depends on the
 * kind). Each problem is a sentence a person can act on.
 */
import type { AlertChannel, AlertKind, AlertRuleSettings } from '@berth/contracts';
import { ALERT_SUSTAIN_MINUTES_MAX } from '@berth/core';
import { THRESHOLD_KINDS } from './alert-evaluator';

/** Percent of the limit for cpu and memory; a count within the window for restarts. */
export const THRESHOLD_RANGE: Record<'cpu' | 'memory' | 'restarts', { min: number; max: number; integer: boolean }> = {
  cpu: { min: 1, max: 100, integer: false },
  memory: { min: 1, max: 100, integer: false },
  restarts: { min: 1, max: 1000, integer: true },
};
export const SUSTAIN_MINUTES_RANGE = { min: 1, max: ALERT_SUSTAIN_MINUTES_MAX };
/** sustain_minutes when a threshold rule names none. */
export const DEFAULT_SUSTAIN_MINUTES = 5;
export const MAX_CHANNELS = 10;

const isThresholdKind = (kind: AlertKind): kind is 'cpu' | 'memory' | 'restarts' => (THRESHOLD_KINDS as readonly string[]).includes(kind);

/** The problems of a rule's settings (empty when valid). */
export function ruleProblems(s: AlertRuleSettings): string[] {
  const problems: string[] = [];
  if (isThresholdKind(s.kind)) {
    const range = THRESHOLD_RANGE[s.kind];
    if (s.threshold === undefined || s.threshold === null) problems.push(`threshold is required for a ${s.kind} rule`);
    else if (!Number.isFinite(s.threshold) || s.threshold < range.min || s.threshold > range.max || (range.integer && !Number.isInteger(s.threshold))) {
      problems.push(`threshold of a ${s.kind} rule must be ${range.integer ? 'a whole number ' : ''}between ${range.min} and ${range.max}${s.kind === 'restarts' ? '' : ' (percent)'}, got ${s.threshold}`);
    }
    const sustain = s.sustainMinutes;
    if (sustain !== undefined && (!Number.isInteger(sustain) || sustain < SUSTAIN_MINUTES_RANGE.min || sustain > SUSTAIN_MINUTES_RANGE.max)) {
      problems.push(`sustainMinutes must be a whole number of minutes between ${SUSTAIN_MINUTES_RANGE.min} and ${SUSTAIN_MINUTES_RANGE.max} (a day), got ${sustain}`);
    }
  } else {
    if (s.threshold !== undefined && s.threshold !== null) problems.push(`${s.kind} rules fire on an event and take no threshold`);
    if (s.sustainMinutes !== undefined && s.sustainMinutes !== null) problems.push(`${s.kind} rules fire on an event and take no sustainMinutes`);
  }
  if (s.channels.length > MAX_CHANNELS) problems.push(`a rule has at most ${MAX_CHANNELS} channels`);
  const keys = s.channels.map(channelKey);
  if (new Set(keys).size !== keys.length) problems.push('channels must not repeat');
  return problems;
}

/** The settings as stored: threshold kinds get their default window. */
export function normaliseSettings(s: AlertRuleSettings): AlertRuleSettings {
  const out: AlertRuleSettings = { kind: s.kind, enabled: s.enabled, channels: s.channels.map(normaliseChannel) };
  if (isThresholdKind(s.kind)) {
    out.threshold = s.threshold;
    out.sustainMinutes = s.sustainMinutes ?? DEFAULT_SUSTAIN_MINUTES;
  }
  return out;
}

function normaliseChannel(c: AlertChannel): AlertChannel {
  return c.type === 'email' ? { type: 'email', to: c.to } : { type: c.type, url: c.url };
}

/** Identifies a channel within a rule (the outbox dedupes per incident, edge and this key). */
export function channelKey(c: AlertChannel): string {
  return c.type === 'email' ? `email:${c.to.toLowerCase()}` : `${c.type}:${c.url}`;
}
