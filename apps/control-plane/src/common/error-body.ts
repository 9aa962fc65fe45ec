import { HttpException, HttpStatus } from '@nestjs/common';
import { ConcurrencyError, InvalidCursorError } from '@berth/event-store';
import type { ErrorBody } from '@berth/contracts';
import { randomUUID } from 'node:crypto';
import { DomainError, httpStatusOf } from './errors';

/**
 * The one place a thrown value becomes `{statusCode, error, message}`: the HTTP exception filter and
 * the agent gateway's acks both use it, so an error means the same thing to a user and to an agent.
 * A concurrency conflict that outlived the service's own retries is 409 with `retryable: true` on both.
 */
const REASONS: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Entity',
  500: 'Internal Server Error',
};

/** Turns any thrown value into a body, status and whether it is worth an error log. */
export function toErrorBody(err: unknown, correlationId?: string): { body: ErrorBody; unexpected: boolean } {
  const body = (statusCode: number, message: string): ErrorBody => ({ statusCode, error: REASONS[statusCode] ?? 'Error', message });
  if (err instanceof DomainError) return { body: body(httpStatusOf(err.code), err.message), unexpected: false };
  if (err instanceof ConcurrencyError) return { body: { ...body(409, `${err.message}; try again`), retryable: true }, unexpected: false };
  if (err instanceof InvalidCursorError) return { body: body(400, err.message), unexpected: false };
  if (err instanceof HttpException) {
    const status = err.getStatus();
    const res = err.getResponse();
    let message = err.message;
    if (typeof res === 'object' && res && 'message' in res) {
      const m = (res as { message: unknown }).message;
      message = Array.isArray(m) ? m.join('; ') : String(m);
    }
    return { body: body(status, message), unexpected: status >= 500 };
  }
  const b = body(HttpStatus.INTERNAL_SERVER_ERROR, 'an unexpected error happened; quote the correlation id when reporting it');
  b.correlationId = correlationId ?? randomUUID();
  return { body: b, unexpected: true };
}

