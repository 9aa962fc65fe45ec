import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiConflictResponse, ApiCreatedResponse, ApiNoContentResponse, ApiNotFoundResponse, ApiOkResponse, ApiTags, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { ReqMeta, type RequestMeta } from '../../common/request-meta';
import { DomainsService, type DomainView } from './domains.service';
import { AddDomainDto } from './dto/add-domain.dto';
import { DomainViewDto } from './dto/domain-view.dto';

@ApiTags('domains')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ description: 'missing or invalid token' })
@Controller('api')
export class DomainsController {
  constructor(private readonly domains: DomainsService) {}

  @Post('apps/:id/domains')
  @ApiCreatedResponse({ type: DomainViewDto, description: 'added, not yet verified: create the TXT record it names, then verify' })
  @ApiConflictResponse({ description: 'another app holds the hostname' })
  @ApiNotFoundResponse({ description: 'no such app' })
  add(@Param('id') appId: string, @Body() body: AddDomainDto, @ReqMeta() meta: RequestMeta): Promise<DomainView> {
    return this.domains.add(appId, body.hostname, meta);
  }

  @Get('apps/:id/domains')
  @ApiOkResponse({ type: [DomainViewDto] })
  @ApiNotFoundResponse({ description: 'no such app' })
  list(@Param('id') appId: string): Promise<DomainView[]> {
    return this.domains.listForApp(appId);
  }

  @Post('domains/:id/verify')
  @HttpCode(200)
  @ApiOkResponse({ type: DomainViewDto, description: 'verified: the domain is routed' })
  @ApiConflictResponse({ description: 'the TXT record is missing or holds another value; the message says what was found' })
  @ApiNotFoundResponse({ description: 'no such domain' })
  verify(@Param('id') id: string, @ReqMeta() meta: RequestMeta): Promise<DomainView> {
    return this.domains.verify(id, meta);
  }

  @Delete('domains/:id')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'removed and unrouted; the hostname is free again' })
  @ApiNotFoundResponse({ description: 'no such domain' })
  remove(@Param('id') id: string, @ReqMeta() meta: RequestMeta): Promise<void> {
    return this.domains.remove(id, meta);
  }
}
