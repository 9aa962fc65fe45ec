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
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}
