import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { ControlPlaneConfig } from '@berth/config';
import type { Request } from 'express';
import { createHash, timingSafeEqual } from 'node:crypto';
import { DomainError, ErrorCode } from '../../common/errors';
import { CONTROL_PLANE_CONFIG } from '../../config/config.module';

const digest = (s: string) => createHash('sha256').update(s).digest();

/** The Traefik endpoints take one static bearer token (BERTH_TRAEFIK_TOKEN), not an API token. */
@Injectable()
export class TraefikTokenGuard implements CanActivate {
  private readonly expected?: Buffer;

  constructor(@Inject(CONTROL_PLANE_CONFIG) config: ControlPlaneConfig) {
    this.expected = config.traefikToken ? digest(config.traefikToken) : undefined;
  }

  canActivate(ctx: ExecutionContext): boolean {
    if (!this.expected) {
      throw new DomainError(ErrorCode.Unauthorized, 'the Traefik endpoints are disabled: set BERTH_TRAEFIK_TOKEN on the control plane and send it as "Authorization: Bearer <token>"');
    }
    const header = ctx.switchToHttp().getRequest<Request>().headers.authorization;
    if (!header) throw new DomainError(ErrorCode.Unauthorized, 'missing Authorization header: send "Authorization: Bearer <BERTH_TRAEFIK_TOKEN>"');
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    if (!m || !timingSafeEqual(digest(m[1]), this.expected)) throw new DomainError(ErrorCode.Unauthorized, 'the Traefik token is not valid');
    return true;
  }
}
