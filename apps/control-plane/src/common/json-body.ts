import type { ErrorBody } from '@berth/contracts';
import express, { type NextFunction, type Request, type Response } from 'express';

const JSON_LIMIT = '1mb';
const parseJson = express.json({ limit: JSON_LIMIT, type: ['application/json', 'application/*+json'] });

function reply(res: Response, statusCode: number, error: string, message: string): void {
  const body: ErrorBody = { statusCode, error, message };
  res.status(statusCode).json(body);
}

function hasBody(req: Request): boolean {
  const length = req.headers['content-length'];
  return (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined;
}

/**
 * JSON bodies for the API, with errors a person can act on: a body that is not JSON is a 415 naming
 * the content type to send, a malformed one a 400 saying where it broke, a huge one a 413.
 * Webhook routes parse their own bodies (signatures are computed over the raw bytes).
 */
export function jsonBody(req: Request, res: Response, next: NextFunction): void {
  if (req.path.startsWith('/api/webhooks/') || !hasBody(req)) return next();
  if (!req.is(['application/json', 'application/*+json'])) {
    return reply(res, 415, 'Unsupported Media Type', `send the request body as JSON with "content-type: application/json" (got "${req.headers['content-type'] ?? 'none'}")`);
  }
  parseJson(req, res, (err?: unknown) => {
    if (!err) return next();
    const e = err as { type?: string; message?: string; status?: number };
    if (e.type === 'entity.too.large') return reply(res, 413, 'Payload Too Large', `the request body is larger than ${JSON_LIMIT}`);
    if (e.type === 'entity.parse.failed') return reply(res, 400, 'Bad Request', `the request body is not valid JSON: ${e.message}`);
    return reply(res, e.status ?? 400, 'Bad Request', e.message ?? 'the request body could not be read');
  });
}
