import { DomainError } from './errors';

/** For decider specs: runs `fn`, which must throw a DomainError, and returns that error. */
export function domainErrorOf(fn: () => unknown): DomainError {
  try {
    fn();
  } catch (err) {
    if (err instanceof DomainError) return err;
    throw err;
  }
  throw new Error('expected a DomainError');
}
