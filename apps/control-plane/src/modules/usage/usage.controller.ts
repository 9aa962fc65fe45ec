import { Controller, Get, Header, Inject, Param, Query } from '@nestjs/common';
import { ApiBadRequestResponse, ApiBearerAuth, ApiNotFoundResponse, ApiOkResponse, ApiTags, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { CLOCK, type Clock } from '../../common/clock';
import { DomainError, ErrorCode } from '../../common/errors';
import { AppsService } from '../apps/apps.service';
import { UsageQueryDto } from './dto/usage-query.dto';
import { clampWindow } from './usage-bucket';
import { UsageRepository, type UsageBucketView } from './usage.repository';

/** The answer's shape (sent as JSON text: see usage). */
export interface UsageView {
  from: string;
  to: string;
  buckets: UsageBucketView[];
}

@ApiTags('usage')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ description: 'missing or invalid token' })
@Controller('api/apps')
export class UsageController {
  constructor(
    private readonly repo: UsageRepository,
    private readonly apps: AppsService,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  /**
   * Answers a UsageView. The buckets come from PostgreSQL already as JSON text (UsageRepository.rangeJson),
   * so the body is written here around them instead of being parsed and serialised again.
   */
  @Get(':id/usage')
  @Header('Content-Type', 'application/json; charset=utf-8')
  @ApiOkResponse({ description: '5-minute buckets in [from, to); `from` says where the 90-day window clamped it' })
  @ApiBadRequestResponse({ description: 'from or to is not an ISO 8601 date-time, or from is after to' })
  @ApiNotFoundResponse({ description: 'no such app' })
  async usage(@Param('id') appId: string, @Query() query: UsageQueryDto): Promise<string> {
    await this.apps.get(appId);
    const asked = { from: query.from ? new Date(query.from) : undefined, to: query.to ? new Date(query.to) : undefined };
    if (asked.from && asked.to && asked.from.getTime() > asked.to.getTime()) throw new DomainError(ErrorCode.InvalidInput, 'from must not be after to');
    const { from, to } = clampWindow(asked.from, asked.to, this.clock.now());
    const buckets = from.getTime() < to.getTime() ? await this.repo.rangeJson(appId, from, to) : '[]';
    return `{"from":"${from.toISOString()}","to":"${to.toISOString()}","buckets":${buckets}}`;
  }
}
