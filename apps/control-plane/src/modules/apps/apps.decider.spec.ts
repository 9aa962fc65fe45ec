import type { AppEvent, AppNameEvent, AppSpec } from '@berth/contracts';
import { describe, expect, it } from 'vitest';
import { fold } from '../../common/decider';
import { ErrorCode } from '../../common/errors';
import { appDecider, appNameDecider, type AppCommand, type AppNameCommand } from './apps.decider';
import { domainErrorOf } from '../../common/errors.testing';

const now = new Date('2025-01-01T00:00:00Z');
const appId = '11111111-1111-4111-8111-111111111111';
const spec: AppSpec = { name: 'web', source: { type: 'git', repoUrl: 'https://example.com/web.git', branch: 'main' }, port: 8080, env: { A: '1' } };

const given = (events: AppEvent[]) => ({ when: (cmd: AppCommand) => appDecider.decide(cmd, fold(appDecider, events), now) });
const givenName = (events: AppNameEvent[]) => ({ when: (cmd: AppNameCommand) => appNameDecider.decide(cmd, fold(appNameDecider, events), now) });

const domainError = domainErrorOf;

describe('app decider', () => {
  const created: AppEvent = { type: 'AppCreated', data: { appId, spec } };

  it('creates an app with its spec normalised (unknown keys and nulls dropped)', () => {
    const messy = { ...spec, zone: undefined, extra: 'x' } as unknown as AppSpec;
    expect(given([]).when({ type: 'CreateApp', appId, spec: messy })).toEqual([{ type: 'AppCreated', data: { appId, spec } }]);
  });

  it('refuses to create an app twice', () => {
    expect(domainError(() => given([created]).when({ type: 'CreateApp', appId, spec })).code).toBe(ErrorCode.Conflict);
  });

  it('updates the fields a patch names and keeps the rest', () => {
    const events = given([created]).when({ type: 'UpdateApp', appId, patch: { port: 9090, memoryMb: 512 } });
    expect(events).toEqual([{ type: 'AppUpdated', data: { appId, spec: { ...spec, port: 9090, memoryMb: 512 } } }]);
  });

  it('clears an optional field patched to null, and replaces the source whole', () => {
    const events = given([created]).when({ type: 'UpdateApp', appId, patch: { env: null, source: { type: 'image', image: 'nginx:1.27' } } });
    expect(events).toEqual([{ type: 'AppUpdated', data: { appId, spec: { name: 'web', source: { type: 'image', image: 'nginx:1.27' }, port: 8080 } } }]);
  });

  it('decides nothing for a patch that changes nothing (whatever the key order)', () => {
    expect(given([created]).when({ type: 'UpdateApp', appId, patch: { name: 'web', port: 8080, env: { A: '1' } } })).toEqual([]);
  });

  it('refuses to rename an app, saying so', () => {
    const err = domainError(() => given([created]).when({ type: 'UpdateApp', appId, patch: { name: 'other' } }));
    expect(err.code).toBe(ErrorCode.InvalidInput);
    expect(err.message).toMatch(/name cannot change/);
  });

  it('refuses to remove a required field', () => {
    expect(domainError(() => given([created]).when({ type: 'UpdateApp', appId, patch: { port: null } })).code).toBe(ErrorCode.InvalidInput);
  });

  it('deletes an app once; a deleted or unknown app is not found', () => {
    expect(given([created]).when({ type: 'DeleteApp', appId })).toEqual([{ type: 'AppDeleted', data: { appId } }]);
    const deleted: AppEvent = { type: 'AppDeleted', data: { appId } };
    expect(domainError(() => given([created, deleted]).when({ type: 'DeleteApp', appId })).code).toBe(ErrorCode.NotFound);
    expect(domainError(() => given([created, deleted]).when({ type: 'UpdateApp', appId, patch: { port: 1 } })).code).toBe(ErrorCode.NotFound);
    expect(domainError(() => given([]).when({ type: 'UpdateApp', appId, patch: { port: 1 } })).code).toBe(ErrorCode.NotFound);
  });
});

describe('app name decider', () => {
  const other = '22222222-2222-4222-8222-222222222222';
  const claimed: AppNameEvent = { type: 'AppNameClaimed', data: { name: 'web', appId } };
  const released: AppNameEvent = { type: 'AppNameReleased', data: { name: 'web', appId } };

  it('claims a free name', () => {
    expect(givenName([]).when({ type: 'ClaimAppName', name: 'web', appId })).toEqual([claimed]);
  });

  it('refuses a taken name with a 409 that names it', () => {
    const err = domainError(() => givenName([claimed]).when({ type: 'ClaimAppName', name: 'web', appId: other }));
    expect(err.code).toBe(ErrorCode.Conflict);
    expect(err.message).toBe('an app named web already exists');
  });

  it('claims a released name again', () => {
    expect(givenName([claimed, released]).when({ type: 'ClaimAppName', name: 'web', appId: other })).toEqual([
      { type: 'AppNameClaimed', data: { name: 'web', appId: other } },
    ]);
  });

  it('releases only for the holder', () => {
    expect(givenName([claimed]).when({ type: 'ReleaseAppName', name: 'web', appId })).toEqual([released]);
    expect(givenName([claimed]).when({ type: 'ReleaseAppName', name: 'web', appId: other })).toEqual([]);
    expect(givenName([claimed, released]).when({ type: 'ReleaseAppName', name: 'web', appId })).toEqual([]);
  });
});
