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

/** A cursor string (e.g. `GET /api/events?after=`) that this store did not produce. */
export class InvalidCursorError extends Error {
  readonly code = 'INVALID_CURSOR';
  constructor(readonly cursor: string) {
    const shown = cursor.length > 60 ? `${cursor.slice(0, 60)}…` : cursor;
    super(`invalid event cursor "${shown}": pass the "next" value of a previous response unchanged, or leave it out to read from the beginning`);
    this.name = 'InvalidCursorError';
  }
}

/** ProjectorRunner.waitFor gave up: the named projectors had not reached the awaited append in time. */
export class ProjectionWaitTimeoutError extends Error {
  readonly code = 'PROJECTION_WAIT_TIMEOUT';
  constructor(
    readonly projectors: string[],
    readonly timeoutMs: number,
  ) {
    super(`projectors ${projectors.join(', ')} did not catch up within ${timeoutMs} ms; the read model may be behind or a projector is failing (see its logs)`);
    this.name = 'ProjectionWaitTimeoutError';
  }
}
