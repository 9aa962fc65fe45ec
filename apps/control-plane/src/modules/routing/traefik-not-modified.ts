import { Injectable } from '@nestjs/common';
import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
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
 * If-None-Match matches the body already rendered gets its 304 straight from the HTTP server's request
 * event, with no Express router, Socket.IO check, guards, pipes, request logger or request id (each of
 * which allocates per request: with hundreds of Traefik instances polling every 2 s that garbage is
 * most of what the control plane's young generation collects). Everything else (no If-None-Match,
 * another ETag, a body not rendered yet, a bad token and its 401) goes on to TraefikController, which
 * gives the same answers for these too. Installed by createControlPlane once the application is
 * initialised.
 */
@Injectable()
export class TraefikNotModified {
  constructor(
    private readonly routes: RoutesService,
    private readonly token: TraefikTokenGuard,
  ) {}

  /**
   * Puts the early 304 ahead of every 'request' listener `server` has now: Express, wrapped by
   * Socket.IO's engine when the gateways were bound at init (which is why it is installed after init,
   * or it would be wrapped behind them). A request it does not answer reaches them unchanged.
   */
  installOn(server: Server): void {
    const listeners = server.listeners('request') as RequestListener[];
    server.removeAllListeners('request');
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      if (this.answered(req, res)) return;
      for (const listener of listeners) listener.call(server, req, res);
    });
  }

  /** Answers 304 when it can (true), or leaves the request untouched (false). */
  answered(req: IncomingMessage, res: ServerResponse): boolean {
    const ifNoneMatch = req.headers['if-none-match'];
    if (ifNoneMatch === undefined || req.method !== 'GET' || !req.url?.startsWith('/v1/traefik/')) return false;
    const rendered = this.rendered(req.url);
    if (!rendered || !etagMatches(ifNoneMatch, rendered.etag) || this.token.problemWith(req.headers.authorization) !== undefined) return false;
    res.writeHead(304, ['ETag', rendered.etag, 'Cache-Control', 'no-cache']);
    res.end();
    return true;
  }

  private rendered(url: string): RenderedConfig | undefined {
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    if (path === PROXY_PATH) return this.routes.renderedProxyConfig();
    if (path !== WORKER_PATH) return undefined;
    const ids = new URLSearchParams(q < 0 ? '' : url.slice(q + 1)).getAll('worker_id');
    return this.routes.renderedWorkerConfig(ids.length === 1 ? ids[0] : undefined);
  }
}
