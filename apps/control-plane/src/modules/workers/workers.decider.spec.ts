import type { WorkerEvent } from '@berth/contracts';
import { describe, expect, it } from 'vitest';
import { fold } from '../../common/decider';
import { DomainError, ErrorCode } from '../../common/errors';
import { workersDecider, type WorkerCommand } from './workers.decider';

const id = '6f1c1a52-3b1e-4d7a-9a52-2f3c1b7d9e01';
const now = new Date('2024-05-01T12:00:00Z');
const registered: WorkerEvent = { type: 'WorkerRegistered', data: { workerId: id, name: 'w1', zone: 'de', tokenHash: 'h' } };
const online: WorkerEvent = { type: 'WorkerCameOnline', data: { workerId: id, capacity: { memoryMb: 2048, cpus: 2 }, advertiseIp: '10.0.0.5' } };
const offline: WorkerEvent = { type: 'WorkerWentOffline', data: { workerId: id, reason: 'agent disconnected' } };

function given(events: WorkerEvent[]) {
  return { when: (command: WorkerCommand) => workersDecider.decide(command, fold(workersDecider, events), now) };
}

function errorCodeOf(fn: () => unknown): ErrorCode | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof DomainError) return err.code;
    throw err;
  }
  return undefined;
}

const hello = (memoryMb = 2048, cpus = 2, at: { advertiseIp?: string } = { advertiseIp: '10.0.0.5' }): WorkerCommand => ({
  type: 'BringWorkerOnline',
  workerId: id,
  capacity: { memoryMb, cpus },
  ...at,
});

describe('workers decider', () => {
  it('registers a new worker, with its zone only when given', () => {
    expect(given([]).when({ type: 'RegisterWorker', workerId: id, name: 'w1', zone: 'de', tokenHash: 'h' })).toEqual([registered]);
    expect(given([]).when({ type: 'RegisterWorker', workerId: id, name: 'w1', tokenHash: 'h' })).toEqual([
      { type: 'WorkerRegistered', data: { workerId: id, name: 'w1', tokenHash: 'h' } },
    ]);
  });

  it('refuses to register the same worker twice', () => {
    expect(errorCodeOf(() => given([registered]).when({ type: 'RegisterWorker', workerId: id, name: 'w1', tokenHash: 'h' }))).toBe(ErrorCode.Conflict);
  });

  it.each([
    { name: 'first hello', history: [registered], command: hello(), expected: [online] },
    { name: 'hello after going offline', history: [registered, online, offline], command: hello(), expected: [online] },
    { name: 'hello again with the same capacity', history: [registered, online], command: hello(), expected: [] },
    {
      name: 'hello with a new capacity',
      history: [registered, online],
      command: hello(4096),
      expected: [{ type: 'WorkerCameOnline', data: { workerId: id, capacity: { memoryMb: 4096, cpus: 2 }, advertiseIp: '10.0.0.5' } }],
    },
    {
      name: 'hello with another address',
      history: [registered, online],
      command: hello(2048, 2, {}),
      expected: [{ type: 'WorkerCameOnline', data: { workerId: id, capacity: { memoryMb: 2048, cpus: 2 } } }],
    },
    { name: 'offline while online', history: [registered, online], command: { type: 'TakeWorkerOffline', workerId: id, reason: 'agent disconnected' }, expected: [offline] },
    { name: 'offline when already offline', history: [registered, online, offline], command: { type: 'TakeWorkerOffline', workerId: id, reason: 'x' }, expected: [] },
    { name: 'offline before ever coming online', history: [registered], command: { type: 'TakeWorkerOffline', workerId: id, reason: 'x' }, expected: [] },
  ] as { name: string; history: WorkerEvent[]; command: WorkerCommand; expected: WorkerEvent[] }[])('$name', ({ history, command, expected }) => {
    expect(given(history).when(command)).toEqual(expected);
  });

  it('an unknown worker cannot come online or go offline', () => {
    expect(errorCodeOf(() => given([]).when(hello()))).toBe(ErrorCode.NotFound);
    expect(errorCodeOf(() => given([]).when({ type: 'TakeWorkerOffline', workerId: id, reason: 'x' }))).toBe(ErrorCode.NotFound);
  });

  it('folds to the state a reader sees', () => {
    expect(fold(workersDecider, [registered, online])).toEqual({
      registered: true,
      workerId: id,
      name: 'w1',
      zone: 'de',
      status: 'online',
      capacity: { memoryMb: 2048, cpus: 2 },
      advertiseIp: '10.0.0.5',
    });
  });
});
