import { Controller, Get, Query, Req, Res, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { Public } from '../auth/public.decorator';
import { RoutesService } from './routes.service';
import type { RenderedConfig } from './traefik-config';
import { etagMatches } from './traefik-not-modified';
import { TraefikTokenGuard } from './traefik-token.guard';

function send(req: Request, res: Response, rendered: RenderedConfig): void {
  res.setHeader('ETag', rendered.etag);
  res.setHeader('Cache-Control', 'no-cache');
  if (etagMatches(req.headers['if-none-match'], rendered.etag)) {
    res.status(304).end();
    return;
  }
  res.status(200).setHeader('Content-Type', 'application/json; charset=utf-8');
  res.end(rendered.body);
}

/**
 * Traefik's HTTP provider (seed section 8), outside /api and its API tokens: a static bearer token.
 * Without If-None-Match the answer is always 200 with the whole body (Traefik treats anything else as
 * an error); with a matching one, 304 and no body.
 */
@ApiExcludeController()
@Public()
@UseGuards(TraefikTokenGuard)
@Controller('v1/traefik')
export class TraefikController {
  constructor(private readonly routes: RoutesService) {}

  /** Worker Traefik, polled every 2 s: the zone-subdomain routes of the apps on `worker_id`. */
  @Get('config')
  async workerConfig(@Query('worker_id') workerId: unknown, @Req() req: Request, @Res() res: Response): Promise<void> {
    send(req, res, await this.routes.workerConfig(typeof workerId === 'string' ? workerId : undefined));
  }

  /** Edge Traefik, polled every 5 s: verified custom domains to the workers' advertise addresses. */
  @Get('proxy-config')
  async proxyConfig(@Req() req: Request, @Res() res: Response): Promise<void> {
    send(req, res, await this.routes.proxyConfig());
  }
}
