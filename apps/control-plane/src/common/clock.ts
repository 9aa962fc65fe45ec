import { randomUUID } from 'node:crypto';

/** Time and ids are injected so every timing rule is testable with a fake clock. */
export interface Clock {
  now(): Date;
}
export const CLOCK = Symbol('Clock');
export const systemClock: Clock = { now: () => new Date() };

export interface IdGenerator {
  newId(): string;
}
export const ID_GENERATOR = Symbol('IdGenerator');
export const uuidGenerator: IdGenerator = { newId: () => randomUUID() };
