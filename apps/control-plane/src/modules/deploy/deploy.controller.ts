import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBearerAuth, ApiBody, ApiNotFoundResponse, ApiOkResponse, ApiTags, ApiUnauthorizedResponse } from '@nestjs/swagger';
import type { BuildLogLine, DeploymentView } from '@berth/contracts';
import { ReqMeta, type RequestMeta } from '../../common/request-meta';
import { BuildLogs } from './build-logs';
import { DeployService } from './deploy.service';
import { CreateDeploymentDto } from './dto/create-deployment.dto';
import { BuildLogsQueryDto, ListDeploymentsQueryDto } from './dto/deployment-query.dto';
import { BuildLogPageDto, DeploymentViewDto } from './dto/deployment-view.dto';

@ApiTags('deployments')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ description: 'missing or invalid token' })
@Controller('api')
export class DeployController {
  constructor(
    private readonly deploy: DeployService,
    private readonly buildLogs: BuildLogs,
  ) {}

  @Post('apps/:id/deployments')
  @HttpCode(202)
  @ApiBody({ type: CreateDeploymentDto, required: false })
  @ApiAcceptedResponse({ type: DeploymentViewDto, description: 'queued; the scheduler places it on a worker' })
  @ApiNotFoundResponse({ description: 'no such app' })
  request(@Param('id') appId: string, @Body() body: CreateDeploymentDto, @ReqMeta() meta: RequestMeta): Promise<DeploymentView> {
    return this.deploy.request(appId, { commit: body?.commit }, meta);
  }

  @Get('apps/:id/deployments')
  @ApiOkResponse({ type: [DeploymentViewDto], description: 'newest first' })
  @ApiNotFoundResponse({ description: 'no such app' })
  list(@Param('id') appId: string, @Query() query: ListDeploymentsQueryDto): Promise<DeploymentView[]> {
    return this.deploy.listForApp(appId, query.limit);
  }

  @Get('deployments/:id')
  @ApiOkResponse({ type: DeploymentViewDto })
  @ApiNotFoundResponse({ description: 'no such deployment' })
  get(@Param('id') id: string): Promise<DeploymentView> {
    return this.deploy.get(id);
  }

  @Get('deployments/:id/logs')
  @ApiOkResponse({ type: BuildLogPageDto, description: 'build output lines, in seq order' })
  @ApiNotFoundResponse({ description: 'no such deployment' })
  logs(@Param('id') id: string, @Query() query: BuildLogsQueryDto): Promise<{ lines: BuildLogLine[]; next: number | null }> {
    return this.buildLogs.read(id, query.after, query.limit);
  }
}
