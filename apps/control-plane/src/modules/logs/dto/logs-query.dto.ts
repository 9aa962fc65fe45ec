import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';

export class LogsQueryDto {
  @ApiPropertyOptional({ description: 'opaque cursor: the `next` of the previous page (lines after it are returned)' })
  @IsOptional()
  @IsString()
  @Matches(/^\d{1,18}$/, { message: 'after must be a cursor returned as "next"' })
  after?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: 1000, default: 500 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  limit?: number;

  @ApiPropertyOptional({ enum: ['stdout', 'stderr'] })
  @IsOptional()
  @IsIn(['stdout', 'stderr'])
  stream?: 'stdout' | 'stderr';

  @ApiPropertyOptional({ description: 'only lines containing this text (case-insensitive)', maxLength: 200 })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  q?: string;
}
