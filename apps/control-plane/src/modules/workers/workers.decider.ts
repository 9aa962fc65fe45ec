/**
 * The worker stream (`worker-<id>`): registered once, then online and offline as its agent connects
 * and drops. Pure: state and time come in, events go out.
 */
import type { WorkerCapacity, WorkerEvent, WorkerStatus } from '@berth/contracts';
import type { Decider } from '../../common/decider';
import { DomainError, ErrorCode } from '../../common/errors';

export interface WorkerState {
  registered: boolean;
  workerId?: string;
  name?: string;
  zone?: string;
  status: WorkerStatus;
  capacity?: WorkerCapacity;
  advertiseIp?: string;
}

export type WorkerCommand =
  | { type: 'RegisterWorker'; workerId: string; name: string; zone?: string; tokenHash: string }
  | { type: 'BringWorkerOnline'; workerId: string; capacity: WorkerCapacity; advertiseIp?: string }
  | { type: 'TakeWorkerOffline'; workerId: string; reason: string };

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
        if (!state.registered) throw new DomainError(ErrorCode.NotFound, `worker ${command.workerId} does not exist`);
        const unchanged = state.status === 'online' && sameCapacity(state.capacity, command.capacity) && state.advertiseIp === command.advertiseIp;
        if (unchanged) return [];
        const ip = command.advertiseIp === undefined ? {} : { advertiseIp: command.advertiseIp };
        return [{ type: 'WorkerCameOnline', data: { workerId: command.workerId, capacity: { memoryMb: command.capacity.memoryMb, cpus: command.capacity.cpus }, ...ip } }];
      }
      case 'TakeWorkerOffline': {
        if (!state.registered) throw new DomainError(ErrorCode.NotFound, `worker ${command.workerId} does not exist`);
        if (state.status !== 'online') return [];
        return [{ type: 'WorkerWentOffline', data: { workerId: command.workerId, reason: command.reason } }];
      }
    }
  },
};
