import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { LogsQueryDto } from './dto/logs-query.dto';
import { LogsService } from './logs.service';
import type { StoredLogLine } from './runtime-logs.repository';

@ApiTags('logs')
@ApiBearerAuth()
@Controller('api/apps/:id/logs')
export class LogsController {
  constructor(private readonly logs: LogsService) {}

  @Get()
  @ApiOperation({ summary: "The app's runtime log lines after a cursor, oldest first" })
  @ApiOkResponse({ description: '{lines: [{id, ts, stream, text, truncated, deploymentId}], next}: pass `next` as `after` to continue' })
  read(@Param('id') appId: string, @Query() query: LogsQueryDto): Promise<{ lines: StoredLogLine[]; next: string | null }> {
    return this.logs.read(appId, query);
  }
}
