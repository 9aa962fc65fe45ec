import { randomUUID } from 'node:crypto';

/** Time comes from @berth/core's one Clock (now + timers), injected as CLOCK; ids are injected too. */
export { systemClock, type Clock } from '@berth/core';
export const CLOCK = Symbol('Clock');

export interface IdGenerator {
  newId(): string;
}
export const ID_GENERATOR = Symbol('IdGenerator');
export const uuidGenerator: IdGenerator = { newId: () => randomUUID() };
