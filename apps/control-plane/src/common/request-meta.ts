import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { Request } from 'express';

/** Who asked, and the id that ties every event a request causes together. */
export interface RequestMeta {
  actor: string;
  correlationId: string;
}

export const ReqMeta = createParamDecorator((_: unknown, ctx: ExecutionContext): RequestMeta => {
  const req = ctx.switchToHttp().getRequest<Request & { id?: string; principal?: { name: string } }>();
  return { actor: req.principal ? `token:${req.principal.name}` : 'anonymous', correlationId: req.id ? String(req.id) : randomUUID() };
});
