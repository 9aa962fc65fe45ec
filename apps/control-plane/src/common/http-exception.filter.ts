import { ArgumentsHost, Catch, ExceptionFilter, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { toErrorBody } from './error-body';

export { toErrorBody };

/** The single place errors become HTTP: `{statusCode, error, message}`. */
@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('http');

  catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw exception;
    const ctx = host.switchToHttp();
    const req = ctx.getRequest<Request & { id?: string }>();
    const res = ctx.getResponse<Response>();
    const { body, unexpected } = toErrorBody(exception, req.id ? String(req.id) : undefined);
    if (unexpected) this.logger.error({ err: exception, correlationId: body.correlationId, path: req.url }, 'request failed');
    res.status(body.statusCode).json(body);
  }
}
