import { Body, Controller, Get, HttpCode, Param, ParseUUIDPipe, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
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
}
