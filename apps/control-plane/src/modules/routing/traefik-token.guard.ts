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

  /** Why an Authorization header is refused, or undefined when it carries the token. */
  problemWith(header: string | undefined): string | undefined {
    if (!this.expected) return 'the Traefik endpoints are disabled: set BERTH_TRAEFIK_TOKEN on the control plane and send it as "Authorization: Bearer <token>"';
    if (!header) return 'missing Authorization header: send "Authorization: Bearer <BERTH_TRAEFIK_TOKEN>"';
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    if (!m || !timingSafeEqual(digest(m[1]), this.expected)) return 'the Traefik token is not valid';
    return undefined;
  }

  canActivate(ctx: ExecutionContext): boolean {
    const problem = this.problemWith(ctx.switchToHttp().getRequest<Request>().headers.authorization);
    if (problem) throw new DomainError(ErrorCode.Unauthorized, problem);
    return true;
  }
}
