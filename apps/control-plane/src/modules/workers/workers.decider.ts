/**
 * The worker stream (`worker-<id>`): registered once, then online and offline as its agent connects
 * and drops. Pure: state and time come in, events go out.
 */
import type { WorkerCapacity, WorkerEvent, WorkerNameEvent, WorkerStatus } from '@berth/contracts';
import type { Decider } from '../../common/decider';
import { DomainError, ErrorCode, assertUnreachable } from '../../common/errors';

export interface WorkerState {
  registered: boolean;
  workerId?: string;
  name?: string;
  zone?: string;
  status: WorkerStatus;
  capacity?: WorkerCapacity;
  advertiseIp?: string;
  /** Drained: its token is revoked and it takes no part in anything any more. */
  removed?: boolean;
}

export type WorkerCommand =
  | { type: 'RegisterWorker'; workerId: string; name: string; zone?: string; tokenHash: string }
  | { type: 'BringWorkerOnline'; workerId: string; capacity: WorkerCapacity; advertiseIp?: string }
  | { type: 'TakeWorkerOffline'; workerId: string; reason: string; lastHeartbeatAt?: string }
  | { type: 'RemoveWorker'; workerId: string; forced: boolean };

const sameCapacity = (a: WorkerCapacity | undefined, b: WorkerCapacity) => a !== undefined && a.memoryMb === b.memoryMb && a.cpus === b.cpus;

export const workersDecider: Decider<WorkerState, WorkerCommand, WorkerEvent> = {
  initialState: () => ({ registered: false, status: 'registered' }),

  evolve(state, event) {
    switch (event.type) {
      case 'WorkerRegistered':
        return { registered: true, workerId: event.data.workerId, name: event.data.name, zone: event.data.zone, status: 'registered' };
      case 'WorkerCameOnline':
        return { ...state, status: 'online', capacity: event.data.capacity, advertiseIp: event.data.advertiseIp };
      case 'WorkerWentOffline':
        return { ...state, status: 'offline' };
      case 'WorkerRemoved':
        return { ...state, status: 'offline', removed: true };
      default:
        return state;
    }
  },

  decide(command, state) {
    switch (command.type) {
      case 'RegisterWorker': {
        if (state.registered) throw new DomainError(ErrorCode.Conflict, `worker ${command.workerId} is already registered`);
        const zone = command.zone === undefined ? {} : { zone: command.zone };
        return [{ type: 'WorkerRegistered', data: { workerId: command.workerId, name: command.name, ...zone, tokenHash: command.tokenHash } }];
      }
      case 'BringWorkerOnline': {
        requireWorker(state, command.workerId);
        const unchanged = state.status === 'online' && sameCapacity(state.capacity, command.capacity) && state.advertiseIp === command.advertiseIp;
        if (unchanged) return [];
        const ip = command.advertiseIp === undefined ? {} : { advertiseIp: command.advertiseIp };
        return [{ type: 'WorkerCameOnline', data: { workerId: command.workerId, capacity: { memoryMb: command.capacity.memoryMb, cpus: command.capacity.cpus }, ...ip } }];
      }
      case 'TakeWorkerOffline': {
        if (!state.registered) throw new DomainError(ErrorCode.NotFound, `worker ${command.workerId} does not exist`);
        if (state.status !== 'online' || state.removed) return [];
        const last = command.lastHeartbeatAt === undefined ? {} : { lastHeartbeatAt: command.lastHeartbeatAt };
        return [{ type: 'WorkerWentOffline', data: { workerId: command.workerId, reason: command.reason, ...last } }];
      }
      case 'RemoveWorker':
        requireWorker(state, command.workerId);
        return [{ type: 'WorkerRemoved', data: { workerId: command.workerId, name: state.name!, forced: command.forced } }];
    }
  },
};

function requireWorker(state: WorkerState, workerId: string): void {
  if (!state.registered || state.removed) throw new DomainError(ErrorCode.NotFound, `worker ${workerId} does not exist`);
}

export type WorkerNameCommand = { type: 'ClaimWorkerName'; name: string; workerId: string } | { type: 'ReleaseWorkerName'; name: string; workerId: string };

/**
 * Stream `workername-<name>`: worker names are unique the way app names are, by a claim appended at
 * the version read, so two concurrent registrations of one name cannot both commit.
 */
export const workerNameDecider: Decider<{ holder: string | null }, WorkerNameCommand, WorkerNameEvent> = {
  initialState: () => ({ holder: null }),

  evolve(_state, event) {
    switch (event.type) {
      case 'WorkerNameClaimed':
        return { holder: event.data.workerId };
      case 'WorkerNameReleased':
        return { holder: null };
      default:
        return assertUnreachable(event);
    }
  },

  decide(command, state) {
    switch (command.type) {
      case 'ClaimWorkerName':
        if (state.holder !== null) throw new DomainError(ErrorCode.Conflict, `a worker named ${command.name} already exists; pick another name`);
        return [{ type: 'WorkerNameClaimed', data: { name: command.name, workerId: command.workerId } }];
      case 'ReleaseWorkerName':
        return state.holder === command.workerId ? [{ type: 'WorkerNameReleased', data: { name: command.name, workerId: command.workerId } }] : [];
      default:
        return assertUnreachable(command);
    }
  },
};
