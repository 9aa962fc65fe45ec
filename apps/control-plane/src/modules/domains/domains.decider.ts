/**
 * Custom domains, pure: a domain's life (stream `domain-<id>`) and the claim on its hostname (stream
 * `domainname-<hostname>`), so two apps never hold one hostname whatever a read model says. Whether a
 * TXT lookup proves a domain is decided here too, from the lookup's result: no DNS in this file.
 */
import type { DomainEvent, DomainNameEvent } from '@berth/contracts';
import type { Decider } from '../../common/decider';
import { DomainError, ErrorCode, assertUnreachable } from '../../common/errors';

/** The TXT record that proves control of `hostname`. */
export const challengeName = (hostname: string) => `_berth-challenge.${hostname}`;

/** What a TXT lookup found: the records' values, a definite "no such record", or a failure to ask. */
export type TxtLookup =
  | { kind: 'found'; values: readonly string[] }
  | { kind: 'missing'; detail: string }
  | { kind: 'error'; detail: string };

export type DomainStatus = 'none' | 'pending' | 'verified' | 'unrouted' | 'removed';

export interface DomainState {
  status: DomainStatus;
  domainId?: string;
  appId?: string;
  hostname?: string;
  token?: string;
}

export type DomainCommand =
  | { type: 'AddDomain'; domainId: string; appId: string; hostname: string; token: string }
  | { type: 'VerifyDomain'; lookup: TxtLookup }
  | { type: 'RecheckDomain'; lookup: TxtLookup }
  | { type: 'RemoveDomain' };

function describe(lookup: TxtLookup, name: string): string {
  switch (lookup.kind) {
    case 'found':
      return `the TXT record ${name} holds ${lookup.values.map((v) => JSON.stringify(v)).join(', ')}, not this domain's token`;
    case 'missing':
      return `there is no TXT record ${name} (${lookup.detail})`;
    case 'error':
      return `the TXT record ${name} could not be looked up (${lookup.detail})`;
    default:
      return assertUnreachable(lookup);
  }
}

function live(state: DomainState): Required<DomainState> {
  if (state.status === 'none') throw new DomainError(ErrorCode.NotFound, 'the domain does not exist');
  if (state.status === 'removed') throw new DomainError(ErrorCode.NotFound, `domain ${state.domainId} was removed`);
  return state as Required<DomainState>;
}

export const domainDecider: Decider<DomainState, DomainCommand, DomainEvent> = {
  initialState: () => ({ status: 'none' }),

  evolve(state, event) {
    switch (event.type) {
      case 'DomainAdded':
        return { status: 'pending', ...event.data };
      case 'DomainVerified':
        return { ...state, status: 'verified' };
      case 'DomainUnrouted':
        return { ...state, status: 'unrouted' };
      case 'DomainRemoved':
        return { ...state, status: 'removed' };
      default:
        return assertUnreachable(event);
    }
  },

  decide(command, state) {
    switch (command.type) {
      case 'AddDomain':
        if (state.status !== 'none') throw new DomainError(ErrorCode.Conflict, `domain ${command.domainId} already exists`);
        return [{ type: 'DomainAdded', data: { domainId: command.domainId, appId: command.appId, hostname: command.hostname, token: command.token } }];
      case 'VerifyDomain': {
        const d = live(state);
        if (d.status === 'verified') return [];
        const { lookup } = command;
        if (lookup.kind === 'found' && lookup.values.includes(d.token)) {
          return [{ type: 'DomainVerified', data: { domainId: d.domainId, appId: d.appId, hostname: d.hostname } }];
        }
        const name = challengeName(d.hostname);
        throw new DomainError(
          ErrorCode.InvalidState,
          `${d.hostname} is not verified: ${describe(lookup, name)}. Add a TXT record ${name} with the value "${d.token}" and verify again`,
        );
      }
      case 'RecheckDomain': {
        const d = live(state);
        const { lookup } = command;
        // Only a definite answer unroutes: a DNS server that cannot be reached says nothing about the record.
        if (d.status !== 'verified' || lookup.kind === 'error') return [];
        if (lookup.kind === 'found' && lookup.values.includes(d.token)) return [];
        return [{ type: 'DomainUnrouted', data: { domainId: d.domainId, appId: d.appId, hostname: d.hostname, reason: describe(lookup, challengeName(d.hostname)) } }];
      }
      case 'RemoveDomain': {
        const d = live(state);
        return [{ type: 'DomainRemoved', data: { domainId: d.domainId, appId: d.appId, hostname: d.hostname } }];
      }
      default:
        return assertUnreachable(command);
    }
  },
};

export type DomainNameCommand =
  | { type: 'ClaimDomainName'; hostname: string; domainId: string; appId: string; holderGone: boolean }
  | { type: 'ReleaseDomainName'; hostname: string; domainId: string };

export interface DomainNameState {
  holder: { domainId: string; appId: string } | null;
}

/**
 * Stream `domainname-<hostname>`. A claim appends at the version read, so two concurrent claims cannot
 * both commit. `holderGone`: the holder's app was deleted (its domains went with it), so the name is free.
 */
export const domainNameDecider: Decider<DomainNameState, DomainNameCommand, DomainNameEvent> = {
  initialState: () => ({ holder: null }),

  evolve(_state, event) {
    switch (event.type) {
      case 'DomainNameClaimed':
        return { holder: { domainId: event.data.domainId, appId: event.data.appId } };
      case 'DomainNameReleased':
        return { holder: null };
      default:
        return assertUnreachable(event);
    }
  },

  decide(command, state) {
    switch (command.type) {
      case 'ClaimDomainName':
        if (state.holder && !command.holderGone) {
          const who = state.holder.appId === command.appId ? 'this app already has it' : 'another app already has it';
          throw new DomainError(ErrorCode.Conflict, `the hostname ${command.hostname} is taken: ${who}`);
        }
        return [{ type: 'DomainNameClaimed', data: { hostname: command.hostname, domainId: command.domainId, appId: command.appId } }];
      case 'ReleaseDomainName':
        return state.holder?.domainId === command.domainId ? [{ type: 'DomainNameReleased', data: { hostname: command.hostname, domainId: command.domainId } }] : [];
      default:
        return assertUnreachable(command);
    }
  },
};
