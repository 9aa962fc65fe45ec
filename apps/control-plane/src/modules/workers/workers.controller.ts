import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiConflictResponse, ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiQuery, ApiTags } from '@nestjs/swagger';
import { DomainError, ErrorCode } from '../../common/errors';
import { ReqMeta, type RequestMeta } from '../../common/request-meta';
import { CreatedWorkerDto, CreateWorkerDto, WorkerViewDto } from './dto/create-worker.dto';
import { WorkersService } from './workers.service';

const workerId = new ParseUUIDPipe({ exceptionFactory: () => new DomainError(ErrorCode.InvalidInput, 'the worker id must be a UUID') });

@ApiTags('workers')
@ApiBearerAuth()
@Controller('api/workers')
export class WorkersController {
  constructor(private readonly workers: WorkersService) {}

  @Post()
  @HttpCode(201)
  @ApiCreatedResponse({ type: CreatedWorkerDto, description: 'The worker and its token; the token is never shown again.' })
  create(@Body() dto: CreateWorkerDto, @ReqMeta() meta: RequestMeta): Promise<CreatedWorkerDto> {
    return this.workers.register(dto, meta);
  }

  @Get()
  @ApiOkResponse({ type: [WorkerViewDto] })
  list(): Promise<WorkerViewDto[]> {
    return this.workers.list();
  }

  @Get(':id')
  @ApiOkResponse({ type: WorkerViewDto })
  get(@Param('id', workerId) id: string): Promise<WorkerViewDto> {
    return this.workers.get(id);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiQuery({ name: 'force', required: false, type: Boolean, description: 'drain even while apps run there (they become stopped)' })
  @ApiNoContentResponse({ description: 'Drained: the worker token no longer works and the name is free.' })
  @ApiConflictResponse({ description: 'apps still run there (and force is not set)' })
  async remove(@Param('id', workerId) id: string, @Query('force') force: string | undefined, @ReqMeta() meta: RequestMeta): Promise<void> {
    if (force !== undefined && force !== 'true' && force !== 'false') throw new DomainError(ErrorCode.InvalidInput, 'force must be true or false');
    await this.workers.remove(id, force === 'true', meta);
  }
}
