import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { EventStore, START } from '@berth/event-store';
import { EventsQueryDto, EventsPageDto } from './dto/events-query.dto';

/** The audit trail: every event in the order readers see it. Admins only (every token is admin today). */
@ApiTags('events')
@ApiBearerAuth()
@Controller('api/events')
export class EventsController {
  constructor(private readonly store: EventStore) {}

  @Get()
  @ApiOkResponse({ type: EventsPageDto })
  async list(@Query() q: EventsQueryDto): Promise<EventsPageDto> {
    const after = q.after ? this.store.decodeCursor(q.after) : START;
    const page = await this.store.readAll(after, q.limit ?? 100);
    return {
      events: page.events.map((e) => ({
        position: e.position,
        type: e.type,
        streamId: e.streamId,
        version: e.version,
        data: e.data,
        metadata: e.metadata,
        occurredAt: e.occurredAt.toISOString(),
      })),
      next: this.store.encodeCursor(page.next),
    };
  }
}
