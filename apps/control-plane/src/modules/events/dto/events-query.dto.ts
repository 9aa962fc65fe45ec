import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';
import { PageLimit } from '../../../common/page-limit';

export class EventsQueryDto {
  @ApiPropertyOptional({ description: 'the `next` cursor of the previous page' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  after?: string;

  @PageLimit(1000, 100)
  limit?: number;
}

export class EventDto {
  @ApiProperty() position: string;
  @ApiProperty() type: string;
  @ApiProperty() streamId: string;
  @ApiProperty() version: number;
  @ApiProperty({ type: 'object', additionalProperties: true }) data: unknown;
  @ApiProperty({ type: 'object', additionalProperties: true }) metadata: Record<string, unknown>;
  @ApiProperty() occurredAt: string;
}

export class EventsPageDto {
  @ApiProperty({ type: [EventDto] }) events: EventDto[];
  @ApiProperty({ description: 'pass as `after` to read on' }) next: string;
}
