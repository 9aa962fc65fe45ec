import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import type { AppSpec, AppView, CreatedAppView } from '@berth/contracts';
import { ReqMeta, type RequestMeta } from '../../common/request-meta';
import type { AppPatch } from './apps.decider';
import { AppsService } from './apps.service';
import { CreateAppDto, UpdateAppDto } from './dto/app-spec.dto';
import { AppViewDto, CreatedAppViewDto } from './dto/app-view.dto';

@ApiTags('apps')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ description: 'missing or invalid token' })
@Controller('api/apps')
export class AppsController {
  constructor(private readonly apps: AppsService) {}

  @Post()
  @ApiCreatedResponse({ type: CreatedAppViewDto, description: 'the app, and its webhook secret (shown this once)' })
  @ApiBadRequestResponse({ description: 'the spec is not valid (unknown fields, bad name, bad source, …)' })
  @ApiConflictResponse({ description: 'an app with this name already exists' })
  create(@Body() body: CreateAppDto, @ReqMeta() meta: RequestMeta): Promise<CreatedAppView> {
    return this.apps.create(body as AppSpec, meta);
  }

  @Get()
  @ApiOkResponse({ type: [AppViewDto] })
  list(): Promise<AppView[]> {
    return this.apps.list();
  }

  @Get(':id')
  @ApiOkResponse({ type: AppViewDto })
  @ApiNotFoundResponse({ description: 'no such app' })
  get(@Param('id') id: string): Promise<AppView> {
    return this.apps.get(id);
  }

  @Patch(':id')
  @ApiOkResponse({ type: AppViewDto })
  @ApiBadRequestResponse({ description: 'invalid fields, or an attempt to rename the app' })
  @ApiNotFoundResponse({ description: 'no such app' })
  update(@Param('id') id: string, @Body() body: UpdateAppDto, @ReqMeta() meta: RequestMeta): Promise<AppView> {
    return this.apps.update(id, body as AppPatch, meta);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'deleted; its name is free again' })
  @ApiNotFoundResponse({ description: 'no such app' })
  remove(@Param('id') id: string, @ReqMeta() meta: RequestMeta): Promise<void> {
    return this.apps.remove(id, meta);
  }
}
