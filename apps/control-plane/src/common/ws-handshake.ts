import type { ErrorBody } from '@berth/contracts';
import type { Namespace, Socket } from 'socket.io';
import { toErrorBody } from './error-body';
import { DomainError, ErrorCode } from './errors';

/** What a refused socket.io client sees: `connect_error` with err.message and err.data = {statusCode, error, message}. */
export class ConnectionRefused extends Error {
  readonly data: ErrorBody;
  constructor(body: ErrorBody) {
    super(body.message);
    this.data = body;
  }
}

/**
 * Runs `check` for every connection of a namespace (or of every child of a dynamic one) before it is
 * accepted; a thrown DomainError refuses it with its status and message, anything else with a 500.
 */
export function guardHandshake(namespace: Namespace, check: (socket: Socket) => Promise<void>): void {
  namespace.use((socket, next) => {
    check(socket).then(
      () => next(),
      (err: unknown) => next(new ConnectionRefused(toErrorBody(err).body)),
    );
  });
}

/** The API token of a dashboard/CLI socket (`auth: {token}`), checked like the HTTP bearer token. */
export async function requireApiToken<P>(auth: { authenticate(token: string): Promise<P | null> }, socket: Socket): Promise<P> {
  const token = (socket.handshake.auth as Record<string, unknown> | undefined)?.token;
  if (typeof token !== 'string' || token.length === 0) {
    throw new DomainError(ErrorCode.Unauthorized, 'missing API token: connect with auth {token} set to an API token');
  }
  const principal = await auth.authenticate(token);
  if (!principal) throw new DomainError(ErrorCode.Unauthorized, 'the API token is not valid');
  return principal;
}

/** The `:id` of a dynamic namespace such as /api/apps/:id/ws/stats. */
export function namespaceParam(socket: Socket, pattern: RegExp): string {
  return pattern.exec(socket.nsp.name)?.[1] ?? '';
}
