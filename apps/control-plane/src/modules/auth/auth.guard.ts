import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { DomainError, ErrorCode } from '../../common/errors';
import { AuthService, Principal } from './auth.service';
import { IS_PUBLIC } from './public.decorator';

/** Every HTTP route needs `Authorization: Bearer <token>` unless marked @Public(). */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly auth: AuthService,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    if (ctx.getType() !== 'http') return true;
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [ctx.getHandler(), ctx.getClass()])) return true;
    const req = ctx.switchToHttp().getRequest<Request & { principal?: Principal }>();
    const header = req.headers.authorization;
    if (!header) throw new DomainError(ErrorCode.Unauthorized, 'missing Authorization header: send "Authorization: Bearer <token>"');
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    if (!m) throw new DomainError(ErrorCode.Unauthorized, 'the Authorization header must be "Bearer <token>"');
    const principal = await this.auth.authenticate(m[1]);
    if (!principal) throw new DomainError(ErrorCode.Unauthorized, 'the token is not valid');
    req.principal = principal;
    return true;
  }
}
