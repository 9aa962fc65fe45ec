import { Controller, HttpCode, Param, PayloadTooLargeException, Post, Req, Res } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBearerAuth,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiPayloadTooLargeResponse,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { ReqMeta, type RequestMeta } from '../../common/request-meta';
import { Public } from '../auth/public.decorator';
import { BodyTooLargeError, discardThenClose, readRawBody } from './raw-body';
import { WebhooksService } from './webhooks.service';

@ApiTags('webhooks')
@Controller('api')
export class WebhooksController {
  constructor(private readonly webhooks: WebhooksService) {}

  /** Outside the token guard: the git host proves itself with the app's webhook secret. The body is read raw here (json-body.ts skips this path). */
  @Public()
  @Post('webhooks/:provider/:appId')
  @ApiOperation({ summary: 'Push events from github, codeberg, gitea, forgejo, gitlab or bitbucket; signed with the app’s webhook secret' })
  @ApiAcceptedResponse({ description: 'a push to the app’s branch: the deployment of the pushed commit started' })
  @ApiOkResponse({ description: 'ignored (ping, tag, other branch, deletion) or already received, with the reason' })
  @ApiUnauthorizedResponse({ description: 'missing or wrong signature, or no such app (the same answer)' })
  @ApiNotFoundResponse({ description: 'unknown provider' })
  @ApiPayloadTooLargeResponse({ description: 'the body is over 5 MiB' })
  async receive(
    @Param('provider') provider: string,
    @Param('appId') appId: string,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
    @ReqMeta() meta: RequestMeta,
  ): Promise<unknown> {
    let body: Buffer;
    try {
      body = await readRawBody(req);
    } catch (err) {
      if (!(err instanceof BodyTooLargeError)) throw err;
      res.once('finish', () => discardThenClose(req));
      throw new PayloadTooLargeException(err.message);
    }
    const answer = await this.webhooks.receive(provider, appId, req.headers, body, meta);
    res.status(answer.statusCode);
    return answer.body;
  }

  @Post('apps/:id/webhook-secret')
  @HttpCode(200)
  @ApiBearerAuth()
  @ApiOperation({ summary: 'Rotate the app’s webhook secret: the old one is refused from now on; the new one is shown this once' })
  @ApiOkResponse({ schema: { properties: { webhookSecret: { type: 'string' } } } })
  @ApiNotFoundResponse({ description: 'no such app' })
  rotate(@Param('id') id: string, @ReqMeta() meta: RequestMeta): Promise<{ webhookSecret: string }> {
    return this.webhooks.rotateSecret(id, meta);
  }
}
