import type { AppEvent, AppNameEvent, AppSpec, AppStoppedReason } from '@berth/contracts';
import type { Decider } from '../../common/decider';
import { DomainError, ErrorCode, assertUnreachable } from '../../common/errors';

/** A partial spec: absent keys stay as they are; `null` clears an optional field. */
export type AppPatch = { [K in keyof AppSpec]?: AppSpec[K] | null };

export type AppCommand =
  | { type: 'CreateApp'; appId: string; spec: AppSpec }
  | { type: 'UpdateApp'; appId: string; patch: AppPatch }
  | { type: 'DeleteApp'; appId: string }
  /** Its container stopped serving for a reason outside the app (the worker went offline). */
  | { type: 'StopApp'; appId: string; workerId: string; deploymentId?: string; reason: AppStoppedReason }
  /** The container that was serving before the stop serves again (its worker came back with it). */
  | { type: 'RestoreApp'; appId: string; workerId: string; deploymentId: string };

export interface AppState {
  status: 'none' | 'active' | 'deleted';
  appId?: string;
  spec?: AppSpec;
  /** Set while the app is stopped by an outage: where it ran. */
  stopped?: { workerId: string; deploymentId?: string };
}

const OPTIONAL_KEYS = ['zone', 'env', 'healthCheckPath', 'memoryMb', 'cpus'] as const;
const REQUIRED_KEYS = ['source', 'port'] as const;

/** The spec as stored: the known keys only, in a stable order, without undefined or null values. */
export function normaliseSpec(spec: AppSpec): AppSpec {
  const out: AppSpec = { name: spec.name, source: normaliseSource(spec.source), port: spec.port };
  if (spec.zone != null) out.zone = spec.zone;
  if (spec.env != null) out.env = { ...spec.env };
  if (spec.healthCheckPath != null) out.healthCheckPath = spec.healthCheckPath;
  if (spec.memoryMb != null) out.memoryMb = spec.memoryMb;
  if (spec.cpus != null) out.cpus = spec.cpus;
  return out;
}

function normaliseSource(source: AppSpec['source']): AppSpec['source'] {
  if (source.type === 'image') return { type: 'image', image: source.image };
  const git: AppSpec['source'] = { type: 'git', repoUrl: source.repoUrl, branch: source.branch };
  if (source.dockerfilePath != null) git.dockerfilePath = source.dockerfilePath;
  return git;
}

/** JSON with object keys sorted: PostgreSQL's jsonb does not keep the order keys were written in. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

/** The spec after a PATCH, or an error when the patch asks for something an app cannot do. */
export function applyPatch(spec: AppSpec, patch: AppPatch): AppSpec {
  if (patch.name !== undefined && patch.name !== spec.name) {
    throw new DomainError(ErrorCode.InvalidInput, `an app's name cannot change (this app is named "${spec.name}"); create a new app to use another name`);
  }
  const next: Record<string, unknown> = { ...spec };
  for (const key of REQUIRED_KEYS) {
    if (patch[key] === null) throw new DomainError(ErrorCode.InvalidInput, `${key} cannot be removed from an app; send a new value instead`);
    if (patch[key] !== undefined) next[key] = patch[key];
  }
  for (const key of OPTIONAL_KEYS) {
    if (patch[key] === null) delete next[key];
    else if (patch[key] !== undefined) next[key] = patch[key];
  }
  return normaliseSpec(next as unknown as AppSpec);
}

/** Stream `app-<id>`: an app's life. Name uniqueness is the `appname-<name>` stream's job (below). */
export const appDecider: Decider<AppState, AppCommand, AppEvent> = {
  initialState: () => ({ status: 'none' }),

  evolve(state, event) {
    switch (event.type) {
      case 'AppCreated':
        return { status: 'active', appId: event.data.appId, spec: event.data.spec };
      case 'AppUpdated':
        return { ...state, status: 'active', appId: event.data.appId, spec: event.data.spec };
      case 'AppDeleted':
        return { ...state, status: 'deleted' };
      case 'AppStopped':
        return { ...state, stopped: { workerId: event.data.workerId, deploymentId: event.data.deploymentId } };
      case 'AppRestored':
        return { ...state, stopped: undefined };
      case 'WebhookSecretSet':
        return state;
      default:
        return assertUnreachable(event);
    }
  },

  decide(command, state) {
    switch (command.type) {
      case 'CreateApp':
        if (state.status !== 'none') throw new DomainError(ErrorCode.Conflict, `app ${command.appId} already exists`);
        return [{ type: 'AppCreated', data: { appId: command.appId, spec: normaliseSpec(command.spec) } }];
      case 'UpdateApp': {
        const spec = requireActive(state, command.appId);
        const next = applyPatch(spec, command.patch);
        if (canonicalJson(next) === canonicalJson(spec)) return [];
        return [{ type: 'AppUpdated', data: { appId: command.appId, spec: next } }];
      }
      case 'DeleteApp':
        requireActive(state, command.appId);
        return [{ type: 'AppDeleted', data: { appId: command.appId } }];
      case 'StopApp': {
        if (state.status !== 'active') return [];
        const { appId, workerId, deploymentId, reason } = command;
        return [{ type: 'AppStopped', data: { appId, workerId, ...(deploymentId ? { deploymentId } : {}), reason } }];
      }
      case 'RestoreApp': {
        if (state.status !== 'active' || !state.stopped || state.stopped.deploymentId !== command.deploymentId) return [];
        return [{ type: 'AppRestored', data: { appId: command.appId, workerId: command.workerId, deploymentId: command.deploymentId } }];
      }
      default:
        return assertUnreachable(command);
    }
  },
};

function requireActive(state: AppState, appId: string): AppSpec {
  if (state.status !== 'active' || !state.spec) throw new DomainError(ErrorCode.NotFound, `app ${appId} does not exist`);
  return state.spec;
}

export type AppNameCommand = { type: 'ClaimAppName'; name: string; appId: string } | { type: 'ReleaseAppName'; name: string; appId: string };

export interface AppNameState {
  /** The app holding the name, or null when it is free (never claimed, or released). */
  holder: string | null;
}

/**
 * Stream `appname-<name>`: makes names unique without trusting a read model. Claiming appends to the
 * stream at the version we read, so two concurrent claims cannot both commit.
 */
export const appNameDecider: Decider<AppNameState, AppNameCommand, AppNameEvent> = {
  initialState: () => ({ holder: null }),

  evolve(_state, event) {
    switch (event.type) {
      case 'AppNameClaimed':
        return { holder: event.data.appId };
      case 'AppNameReleased':
        return { holder: null };
      default:
        return assertUnreachable(event);
    }
  },

  decide(command, state) {
    switch (command.type) {
      case 'ClaimAppName':
        if (state.holder !== null) throw new DomainError(ErrorCode.Conflict, `an app named ${command.name} already exists`);
        return [{ type: 'AppNameClaimed', data: { name: command.name, appId: command.appId } }];
      case 'ReleaseAppName':
        // Only the holder releases; anything else (already free, held by another app) changes nothing.
        return state.holder === command.appId ? [{ type: 'AppNameReleased', data: { name: command.name, appId: command.appId } }] : [];
      default:
        return assertUnreachable(command);
    }
  },
};
