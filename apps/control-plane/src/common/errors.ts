/**
 * Domain errors carry a code; the one exception filter (http-exception.filter.ts) maps codes to HTTP.
 * Domain code throws these and never knows about status codes.
 */
export enum ErrorCode {
  NotFound = 'NOT_FOUND',
  Conflict = 'CONFLICT',
  InvalidInput = 'INVALID_INPUT',
  InvalidState = 'INVALID_STATE',
  Unauthorized = 'UNAUTHORIZED',
  Forbidden = 'FORBIDDEN',
}

export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export const notFound = (what: string, id: string) => new DomainError(ErrorCode.NotFound, `${what} ${id} does not exist`);

export function httpStatusOf(code: ErrorCode): number {
  switch (code) {
    case ErrorCode.NotFound:
      return 404;
    case ErrorCode.Conflict:
      return 409;
    case ErrorCode.InvalidInput:
      return 400;
    case ErrorCode.InvalidState:
      return 409;
    case ErrorCode.Unauthorized:
      return 401;
    case ErrorCode.Forbidden:
      return 403;
    default:
      return assertUnreachable(code);
  }
}

export function assertUnreachable(x: never): never {
  throw new Error(`unreachable: ${String(x)}`);
}
