import { Injectable } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RoutesService } from './routes.service';
import type { RenderedConfig } from './traefik-config';
import { TraefikTokenGuard } from './traefik-token.guard';

/** Whether If-None-Match names this ETag (or `*`). Weak and strong forms compare equal. */
export function etagMatches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  if (ifNoneMatch === etag) return true;
  return ifNoneMatch.split(',').some((tag) => {
    const t = tag.trim();
    return t === '*' || t === etag || t === `W/${etag}`;
  });
}

const WORKER_PATH = '/v1/traefik/config';
const PROXY_PATH = '/v1/traefik/proxy-config';

/**
 * The Traefik endpoints' steady state, answered before the framework: a GET with the right token whose
 * If-None-Match matches the body already rendered gets its 304 here, with no routing, guards, pipes,
 * request logger or request id. Everything else (no If-None-Match, another ETag, a body not rendered
 * yet, a bad token and its 401) goes on to TraefikController, which gives the same answers for these
 * too. Registered first in createControlPlane.
 */
@Injectable()
export class TraefikNotModified {
  constructor(
    private readonly routes: RoutesService,
    private readonly token: TraefikTokenGuard,
  ) {}

  readonly middleware = (req: IncomingMessage, res: ServerResponse, next: () => void): void => {
    const ifNoneMatch = req.headers['if-none-match'];
    if (ifNoneMatch === undefined || req.method !== 'GET' || !req.url?.startsWith('/v1/traefik/')) return next();
    const rendered = this.rendered(req.url);
    if (!rendered || !etagMatches(ifNoneMatch, rendered.etag) || this.token.problemWith(req.headers.authorization) !== undefined) return next();
    res.writeHead(304, { ETag: rendered.etag, 'Cache-Control': 'no-cache' });
    res.end();
  };

  private rendered(url: string): RenderedConfig | undefined {
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    if (path === PROXY_PATH) return this.routes.renderedProxyConfig();
    if (path !== WORKER_PATH) return undefined;
    const ids = new URLSearchParams(q < 0 ? '' : url.slice(q + 1)).getAll('worker_id');
    return this.routes.renderedWorkerConfig(ids.length === 1 ? ids[0] : undefined);
  }
}
