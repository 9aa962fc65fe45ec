import type { AlertEvent, AlertRuleSettings } from '@berth/contracts';
import { describe, expect, it } from 'vitest';
import { domainErrorOf } from '../../common/errors.testing';
import { ErrorCode } from '../../common/errors';
import { fold } from '../../common/decider';
import { alertRuleDecider, type AlertRuleCommand } from './alert-rules.decider';

const NOW = new Date('2026-12-03T10:00:00.000Z');
const settings: AlertRuleSettings = { kind: 'offline', enabled: true, channels: [{ type: 'webhook', url: 'https://example.com/h' }] };
const created: AlertEvent = { type: 'AlertRuleCreated', data: { ruleId: 'r', appId: 'a', ...settings } };
const given = (...events: AlertEvent[]) => ({ when: (c: AlertRuleCommand) => alertRuleDecider.decide(c, fold(alertRuleDecider, events), NOW) });
const cause = (position: string) => ({ transactionId: '10', position });
const fired = (incidentId: string, c?: { transactionId: string; position: string }): Extract<AlertEvent, { type: 'AlertFired' }> => ({
  type: 'AlertFired',
  data: { ruleId: 'r', appId: 'a', incidentId, kind: 'offline', at: NOW.toISOString(), channels: settings.channels, ...(c ? { cause: c } : {}) },
});

describe('alert rule decider', () => {
  it('fires once: a second Fire while an incident is open decides nothing', () => {
    expect(given(created).when({ type: 'Fire', incidentId: 'i1', at: NOW })).toEqual([fired('i1')]);
    expect(given(created, fired('i1')).when({ type: 'Fire', incidentId: 'i2', at: NOW })).toEqual([]);
  });

  it('resolves only an open incident', () => {
    expect(given(created).when({ type: 'Resolve', at: NOW })).toEqual([]);
    expect(given(created, fired('i1')).when({ type: 'Resolve', at: NOW })).toMatchObject([{ type: 'AlertResolved', data: { incidentId: 'i1' } }]);
  });

  it('a cause seen again (a reaction replaying at least once) decides nothing', () => {
    const resolved: AlertEvent = { type: 'AlertResolved', data: { ...fired('i1').data, cause: cause('6') } };
    const history = [created, fired('i1', cause('5')), resolved];
    expect(given(...history).when({ type: 'Fire', incidentId: 'i1', at: NOW, cause: cause('5') })).toEqual([]);
    expect(given(...history).when({ type: 'Fire', incidentId: 'i3', at: NOW, cause: cause('7') })).toEqual([fired('i3', cause('7'))]);
  });

  it('a disabled rule does not fire; disabling or deleting one that fires resolves it silently', () => {
    const disabled: AlertEvent = { type: 'AlertRuleChanged', data: { ruleId: 'r', appId: 'a', ...settings, enabled: false } };
    expect(given(created, disabled).when({ type: 'Fire', incidentId: 'i1', at: NOW })).toEqual([]);
    expect(given(created, fired('i1')).when({ type: 'ChangeRule', patch: { enabled: false } })).toMatchObject([
      { type: 'AlertResolved', data: { incidentId: 'i1', channels: [] } },
      { type: 'AlertRuleChanged', data: { enabled: false } },
    ]);
    expect(given(created, fired('i1')).when({ type: 'DeleteRule' })).toMatchObject([{ type: 'AlertResolved', data: { channels: [] } }, { type: 'AlertRuleDeleted' }]);
  });

  it('refuses an invalid rule, and a change to one that does not exist', () => {
    expect(domainErrorOf(() => given().when({ type: 'CreateRule', ruleId: 'r', appId: 'a', settings: { kind: 'cpu', enabled: true, channels: [], threshold: 101 } }))).toMatchObject({
      code: ErrorCode.InvalidInput,
      message: 'threshold of a cpu rule must be between 1 and 100 (percent), got 101',
    });
    expect(domainErrorOf(() => given().when({ type: 'DeleteRule' })).code).toBe(ErrorCode.NotFound);
  });

  it('a change that changes nothing appends nothing', () => {
    expect(given(created).when({ type: 'ChangeRule', patch: { enabled: true } })).toEqual([]);
  });
});
