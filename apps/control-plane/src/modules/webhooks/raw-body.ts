import type { IncomingMessage } from 'node:http';

/** Push payloads of big pushes run to a few hundred KiB; 5 MiB leaves room and bounds what one request can cost. */
export const WEBHOOK_BODY_LIMIT_BYTES = 5 * 1024 * 1024;

export class BodyTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`the webhook body is larger than ${limit / 1024 / 1024} MiB`);
    this.name = 'BodyTooLargeError';
  }
}

/**
 * The request's exact bytes (signatures are computed over them), at most `limit`: a Content-Length over
 * the limit is refused before reading, and a body that grows past it stops being read at that chunk,
 * so nothing past the limit is ever held in memory.
 */
export function readRawBody(req: IncomingMessage, limit = WEBHOOK_BODY_LIMIT_BYTES): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) return reject(new BodyTooLargeError(limit));
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        req.pause();
        chunks.length = 0;
        return reject(new BodyTooLargeError(limit));
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    /** The client went away before the end of its body. */
    const onClose = () => onError(new Error('the request was aborted before its body ended'));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

/** How long the rest of a refused upload is read and dropped before the connection is closed. */
export const LINGER_AFTER_REFUSAL_MS = 2_000;

/**
 * After a 413: read and drop whatever the client is still sending for a moment, then close. Closing at
 * once would reset a connection the client is still writing to, and a reset can discard the 413 before
 * the client reads it (the lingering close web servers do). Nothing read here is kept.
 */
export function discardThenClose(req: IncomingMessage, lingerMs = LINGER_AFTER_REFUSAL_MS): void {
  req.on('data', () => undefined);
  req.resume();
  setTimeout(() => req.socket.destroy(), lingerMs).unref();
}
