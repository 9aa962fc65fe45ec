import type { DomainEvent } from '@berth/contracts';
import { describe, expect, it } from 'vitest';
import { fold } from '../../common/decider';
import { ErrorCode } from '../../common/errors';
import { domainErrorOf } from '../../common/errors.testing';
import { domainDecider, domainNameDecider, type DomainCommand } from './domains.decider';

const NOW = new Date('2026-01-01T00:00:00Z');
const added: DomainEvent = { type: 'DomainAdded', data: { domainId: 'd1', appId: 'a1', hostname: 'shop.example.com', token: 'tok-123' } };
const verified: DomainEvent = { type: 'DomainVerified', data: { domainId: 'd1', appId: 'a1', hostname: 'shop.example.com' } };

const given = (...events: DomainEvent[]) => ({ when: (command: DomainCommand) => domainDecider.decide(command, fold(domainDecider, events), NOW) });

describe('domainDecider', () => {
  it('adds a pending domain', () => {
    expect(given().when({ type: 'AddDomain', domainId: 'd1', appId: 'a1', hostname: 'shop.example.com', token: 'tok-123' })).toEqual([added]);
  });

  it('verifies when one of the TXT values is the token', () => {
    expect(given(added).when({ type: 'VerifyDomain', lookup: { kind: 'found', values: ['other', 'tok-123'] } })).toEqual([verified]);
  });

  it('verifying a verified domain changes nothing', () => {
    expect(given(added, verified).when({ type: 'VerifyDomain', lookup: { kind: 'missing', detail: 'NXDOMAIN' } })).toEqual([]);
  });

  it.each([
    [{ kind: 'found', values: ['wrong'] } as const, /holds "wrong", not this domain's token/],
    [{ kind: 'missing', detail: 'the name does not exist' } as const, /there is no TXT record _berth-challenge.shop.example.com \(the name does not exist\)/],
    [{ kind: 'error', detail: 'timeout' } as const, /could not be looked up \(timeout\)/],
  ])('refuses to verify on %j, saying what it found and what to add', (lookup, found) => {
    const err = domainErrorOf(() => given(added).when({ type: 'VerifyDomain', lookup }));
    expect(err.code).toBe(ErrorCode.InvalidState);
    expect(err.message).toMatch(found);
    expect(err.message).toContain('Add a TXT record _berth-challenge.shop.example.com with the value "tok-123"');
  });

  it('a re-check that finds the record gone unroutes the domain, saying why', () => {
    expect(given(added, verified).when({ type: 'RecheckDomain', lookup: { kind: 'missing', detail: 'no TXT data' } })).toEqual([
      {
        type: 'DomainUnrouted',
        data: { domainId: 'd1', appId: 'a1', hostname: 'shop.example.com', reason: 'there is no TXT record _berth-challenge.shop.example.com (no TXT data)' },
      },
    ]);
    expect(given(added, verified).when({ type: 'RecheckDomain', lookup: { kind: 'found', values: ['changed'] } })[0].type).toBe('DomainUnrouted');
  });

  it('a re-check that cannot reach DNS, or still finds the token, changes nothing; an unverified domain is not re-checked', () => {
    expect(given(added, verified).when({ type: 'RecheckDomain', lookup: { kind: 'error', detail: 'SERVFAIL' } })).toEqual([]);
    expect(given(added, verified).when({ type: 'RecheckDomain', lookup: { kind: 'found', values: ['tok-123'] } })).toEqual([]);
    expect(given(added).when({ type: 'RecheckDomain', lookup: { kind: 'missing', detail: 'x' } })).toEqual([]);
  });

  it('an unrouted domain can be verified again', () => {
    const unrouted: DomainEvent = { type: 'DomainUnrouted', data: { domainId: 'd1', appId: 'a1', hostname: 'shop.example.com', reason: 'gone' } };
    expect(given(added, verified, unrouted).when({ type: 'VerifyDomain', lookup: { kind: 'found', values: ['tok-123'] } })).toEqual([verified]);
  });

  it('removes a domain once; a removed or unknown domain is not found', () => {
    const removed = given(added).when({ type: 'RemoveDomain' });
    expect(removed).toEqual([{ type: 'DomainRemoved', data: { domainId: 'd1', appId: 'a1', hostname: 'shop.example.com' } }]);
    expect(domainErrorOf(() => given(added, ...removed).when({ type: 'RemoveDomain' })).code).toBe(ErrorCode.NotFound);
    expect(domainErrorOf(() => given().when({ type: 'VerifyDomain', lookup: { kind: 'found', values: [] } })).code).toBe(ErrorCode.NotFound);
  });
});

describe('domainNameDecider', () => {
  const claim = { type: 'ClaimDomainName', hostname: 'shop.example.com', domainId: 'd2', appId: 'a2', holderGone: false } as const;
  const held = [{ type: 'DomainNameClaimed', data: { hostname: 'shop.example.com', domainId: 'd1', appId: 'a1' } }] as const;

  it('claims a free hostname', () => {
    expect(domainNameDecider.decide(claim, domainNameDecider.initialState(), NOW)).toEqual([
      { type: 'DomainNameClaimed', data: { hostname: 'shop.example.com', domainId: 'd2', appId: 'a2' } },
    ]);
  });

  it('refuses a hostname another app holds, and says so', () => {
    const err = domainErrorOf(() => domainNameDecider.decide(claim, fold(domainNameDecider, [...held]), NOW));
    expect(err.code).toBe(ErrorCode.Conflict);
    expect(err.message).toBe('the hostname shop.example.com is taken: another app already has it');
  });

  it('takes over a hostname whose holder app was deleted', () => {
    expect(domainNameDecider.decide({ ...claim, holderGone: true }, fold(domainNameDecider, [...held]), NOW)).toHaveLength(1);
  });

  it('only the holding domain releases the name', () => {
    const state = fold(domainNameDecider, [...held]);
    expect(domainNameDecider.decide({ type: 'ReleaseDomainName', hostname: 'shop.example.com', domainId: 'd2' }, state, NOW)).toEqual([]);
    expect(domainNameDecider.decide({ type: 'ReleaseDomainName', hostname: 'shop.example.com', domainId: 'd1' }, state, NOW)).toEqual([
      { type: 'DomainNameReleased', data: { hostname: 'shop.example.com', domainId: 'd1' } },
    ]);
  });
});
