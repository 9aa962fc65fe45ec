import { Controller, Get, Inject, Param, Query, StreamableFile } from '@nestjs/common';
import { Readable } from 'node:stream';
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
   * so the body is sent as pieces around them, with no parsing, serialising or joining of 3 MiB here,
   * and its length is known before the first byte (Content-Length, no chunked framing).
   */
  @Get(':id/usage')
  @ApiOkResponse({ description: '5-minute buckets in [from, to); `from` says where the 90-day window clamped it' })
  @ApiBadRequestResponse({ description: 'from or to is not an ISO 8601 date-time, or from is after to' })
  @ApiNotFoundResponse({ description: 'no such app' })
  async usage(@Param('id') appId: string, @Query() query: UsageQueryDto): Promise<StreamableFile> {
    await this.apps.get(appId);
    const asked = { from: query.from ? new Date(query.from) : undefined, to: query.to ? new Date(query.to) : undefined };
    if (asked.from && asked.to && asked.from.getTime() > asked.to.getTime()) throw new DomainError(ErrorCode.InvalidInput, 'from must not be after to');
    const now = this.clock.now();
    const { from, to } = clampWindow(asked.from, asked.to, now);
    const buckets = await this.repo.rangeJson(appId, from, to, now);
    const pieces = [`{"from":"${from.toISOString()}","to":"${to.toISOString()}","buckets":[`, ...buckets.map((b, i) => (i === 0 ? b : `,${b}`)), ']}'];
    const length = pieces.reduce((n, p) => n + Buffer.byteLength(p), 0);
    return new StreamableFile(Readable.from(pieces), { type: 'application/json; charset=utf-8', length });
  }
}
