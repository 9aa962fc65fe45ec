import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post } from '@nestjs/common';
import { ApiBadRequestResponse, ApiBearerAuth, ApiCreatedResponse, ApiNoContentResponse, ApiNotFoundResponse, ApiOkResponse, ApiTags, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { ReqMeta, type RequestMeta } from '../../common/request-meta';
import type { AlertRuleView, IncidentView } from './alerts.repository';
import { AlertsService } from './alerts.service';
import { CreateAlertRuleDto, UpdateAlertRuleDto } from './dto/alert-rule.dto';

@ApiTags('alerts')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ description: 'missing or invalid token' })
@Controller('api')
export class AlertsController {
  constructor(private readonly alerts: AlertsService) {}

  @Post('apps/:id/alert-rules')
  @ApiCreatedResponse({ description: 'the rule, with its status' })
  @ApiBadRequestResponse({ description: 'unknown kind, threshold out of range, sustainMinutes not 1-1440, a channel URL not http(s), an email that is not one' })
  @ApiNotFoundResponse({ description: 'no such app' })
  create(@Param('id') appId: string, @Body() body: CreateAlertRuleDto, @ReqMeta() meta: RequestMeta): Promise<AlertRuleView> {
    return this.alerts.createRule(appId, body, meta);
  }

  @Get('apps/:id/alert-rules')
  @ApiOkResponse({ description: 'the app rules, oldest first' })
  @ApiNotFoundResponse({ description: 'no such app' })
  list(@Param('id') appId: string): Promise<AlertRuleView[]> {
    return this.alerts.listRules(appId);
  }

  @Patch('alert-rules/:id')
  @ApiOkResponse({ description: 'the changed rule' })
  @ApiBadRequestResponse({ description: 'the rule would not be valid' })
  @ApiNotFoundResponse({ description: 'no such rule' })
  update(@Param('id') ruleId: string, @Body() body: UpdateAlertRuleDto, @ReqMeta() meta: RequestMeta): Promise<AlertRuleView> {
    return this.alerts.updateRule(ruleId, body, meta);
  }

  @Delete('alert-rules/:id')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'deleted (an open incident is resolved without notifications)' })
  @ApiNotFoundResponse({ description: 'no such rule' })
  remove(@Param('id') ruleId: string, @ReqMeta() meta: RequestMeta): Promise<void> {
    return this.alerts.removeRule(ruleId, meta);
  }

  @Get('apps/:id/alerts')
  @ApiOkResponse({ description: 'incidents, newest first: {id, ruleId, kind, state, firedAt, resolvedAt?, value?, deliveries}' })
  @ApiNotFoundResponse({ description: 'no such app' })
  incidents(@Param('id') appId: string): Promise<IncidentView[]> {
    return this.alerts.incidents(appId);
  }
}
