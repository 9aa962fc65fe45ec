import { Controller, Get, Param } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { AppStatsView } from '@berth/contracts';
import { StatsService } from './stats.service';

@ApiTags('stats')
@ApiBearerAuth()
@Controller('api/apps/:id/stats')
export class StatsController {
  constructor(private readonly stats: StatsService) {}

  @Get()
  @ApiOperation({ summary: "The app's latest container metrics; {live: false} when none was sampled in the last 45 s" })
  @ApiOkResponse({ description: '{live:false} or {live:true, cpuPercent, memoryBytes, memoryLimitBytes, netRxBytes, netTxBytes, blockReadBytes, blockWriteBytes, pids, restarts, sampledAt}' })
  get(@Param('id') appId: string): Promise<AppStatsView> {
    return this.stats.get(appId);
  }
}
