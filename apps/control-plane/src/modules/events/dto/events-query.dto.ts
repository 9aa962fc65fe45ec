import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';

export class EventsQueryDto {
  @ApiPropertyOptional({ description: 'the `next` cursor of the previous page' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  after?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: 1000, default: 100 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
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
