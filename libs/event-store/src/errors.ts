export class ConcurrencyError extends Error {
  readonly code = 'CONCURRENCY_CONFLICT';
  constructor(
    readonly streamId: string,
    readonly expected: number | 'no_stream' | 'any',
    readonly actual: number,
  ) {
    super(`stream ${streamId} is at version ${actual}, expected ${expected}: someone else changed it first; reload and try again`);
    this.name = 'ConcurrencyError';
  }
}
