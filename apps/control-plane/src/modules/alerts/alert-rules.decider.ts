import type { AlertChannel, AlertEvent, AlertKind, AlertRuleSettings } from '@berth/contracts';
import type { Decider } from '../../common/decider';
import { DomainError, ErrorCode, assertUnreachable } from '../../common/errors';
import { normaliseSettings, ruleProblems } from './alert-rule.rules';

export type AlertRulePatch = Partial<Omit<AlertRuleSettings, 'kind'>> & { kind?: AlertKind };

export type AlertRuleCommand =
  | { type: 'CreateRule'; ruleId: string; appId: string; settings: AlertRuleSettings }
  | { type: 'ChangeRule'; patch: AlertRulePatch }
  | { type: 'DeleteRule' }
  /** From the poller or a reaction: the condition holds (at most one incident open per rule). */
  | { type: 'Fire'; incidentId: string; value?: number; at: Date; cause?: EdgeCause }
  /** The condition no longer holds. */
  | { type: 'Resolve'; value?: number; at: Date; cause?: EdgeCause };

export interface AlertRuleState {
  status: 'none' | 'active' | 'deleted';
  ruleId?: string;
  appId?: string;
  settings?: AlertRuleSettings;
  openIncidentId?: string;
  /** The newest event a reaction decided an edge from: an older one, seen again, decides nothing. */
  lastCause?: EdgeCause;
}

/** Where, in the log, the event an edge was decided from stands (a reaction replays at least once). */
export interface EdgeCause {
  transactionId: string;
  position: string;
}

/** True when `a` comes at or before `b` in the log's (transactionId, position) order. */
export function causeNotAfter(a: EdgeCause, b: EdgeCause): boolean {
  const ta = BigInt(a.transactionId);
  const tb = BigInt(b.transactionId);
  return ta !== tb ? ta < tb : BigInt(a.position) <= BigInt(b.position);
}

/**
 * Stream `alertrule-<id>`: a rule's settings and its edges. Fire and Resolve decide nothing when the
 * incident is already open (or closed), so a reaction that sees an event twice, or two pollers, never
 * append a second edge. Deleting or disabling a rule with an open incident resolves it without telling
 * anyone (channels: []): the incident does not stay open forever, and nobody is paged for an edit.
 */
export const alertRuleDecider: Decider<AlertRuleState, AlertRuleCommand, AlertEvent> = {
  initialState: () => ({ status: 'none' }),

  evolve(state, event) {
    switch (event.type) {
      case 'AlertRuleCreated':
      case 'AlertRuleChanged': {
        const { ruleId, appId, ...settings } = event.data;
        return { ...state, status: 'active', ruleId, appId, settings };
      }
      case 'AlertRuleDeleted':
        return { ...state, status: 'deleted' };
      case 'AlertFired':
        return { ...state, openIncidentId: event.data.incidentId, lastCause: event.data.cause ?? state.lastCause };
      case 'AlertResolved':
        return { ...state, openIncidentId: undefined, lastCause: event.data.cause ?? state.lastCause };
      default:
        return assertUnreachable(event);
    }
  },

  decide(command, state, now) {
    switch (command.type) {
      case 'CreateRule': {
        if (state.status !== 'none') throw new DomainError(ErrorCode.Conflict, `alert rule ${command.ruleId} already exists`);
        const settings = validated(command.settings);
        return [{ type: 'AlertRuleCreated', data: { ruleId: command.ruleId, appId: command.appId, ...settings } }];
      }
      case 'ChangeRule': {
        const current = active(state);
        const merged = validated({ ...current.settings, ...definedOnly(command.patch) } as AlertRuleSettings);
        if (JSON.stringify(merged) === JSON.stringify(current.settings)) return [];
        const changed: AlertEvent = { type: 'AlertRuleChanged', data: { ruleId: current.ruleId, appId: current.appId, ...merged } };
        const kindChanged = merged.kind !== current.settings.kind;
        return (!merged.enabled || kindChanged) && state.openIncidentId ? [silentResolve(current, state.openIncidentId, now), changed] : [changed];
      }
      case 'DeleteRule': {
        const current = active(state);
        const deleted: AlertEvent = { type: 'AlertRuleDeleted', data: { ruleId: current.ruleId, appId: current.appId } };
        return state.openIncidentId ? [silentResolve(current, state.openIncidentId, now), deleted] : [deleted];
      }
      case 'Fire': {
        if (state.status !== 'active' || !state.settings!.enabled || state.openIncidentId || seen(command.cause, state)) return [];
        return [edge('AlertFired', state, command.incidentId, command.at, command.value, command.cause)];
      }
      case 'Resolve': {
        if (state.status !== 'active' || !state.openIncidentId || seen(command.cause, state)) return [];
        return [edge('AlertResolved', state, state.openIncidentId, command.at, command.value, command.cause)];
      }
      default:
        return assertUnreachable(command);
    }
  },
};

function validated(settings: AlertRuleSettings): AlertRuleSettings {
  const problems = ruleProblems(settings);
  if (problems.length > 0) throw new DomainError(ErrorCode.InvalidInput, problems.join('; '));
  return normaliseSettings(settings);
}

function active(state: AlertRuleState): Required<Pick<AlertRuleState, 'ruleId' | 'appId' | 'settings'>> {
  if (state.status !== 'active') throw new DomainError(ErrorCode.NotFound, `alert rule ${state.ruleId ?? ''} does not exist`.replace('  ', ' '));
  return { ruleId: state.ruleId!, appId: state.appId!, settings: state.settings! };
}

/** PATCH semantics: a field sent as null clears it (threshold, sustainMinutes), an absent one keeps it. */
function definedOnly(patch: AlertRulePatch): Partial<AlertRuleSettings> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(patch)) if (v !== undefined) out[k] = v === null ? undefined : v;
  return out as Partial<AlertRuleSettings>;
}

const seen = (cause: EdgeCause | undefined, state: AlertRuleState): boolean => !!cause && !!state.lastCause && causeNotAfter(cause, state.lastCause);

function edge(type: 'AlertFired' | 'AlertResolved', state: AlertRuleState, incidentId: string, at: Date, value?: number, cause?: EdgeCause): AlertEvent {
  const data = {
    ruleId: state.ruleId!,
    appId: state.appId!,
    incidentId,
    kind: state.settings!.kind,
    at: at.toISOString(),
    channels: state.settings!.channels,
    ...(value === undefined || !Number.isFinite(value) ? {} : { value }),
    ...(cause ? { cause } : {}),
  };
  return { type, data } as AlertEvent;
}

function silentResolve(current: { ruleId: string; appId: string; settings: AlertRuleSettings }, incidentId: string, now: Date): AlertEvent {
  const channels: AlertChannel[] = [];
  return { type: 'AlertResolved', data: { ruleId: current.ruleId, appId: current.appId, incidentId, kind: current.settings.kind, at: now.toISOString(), channels } };
}
