import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { PageLimit } from '../../../common/page-limit';

export class LogsQueryDto {
  @ApiPropertyOptional({ description: 'opaque cursor: the `next` of the previous page (lines after it are returned)' })
  @IsOptional()
  @IsString()
  @Matches(/^\d{1,18}$/, { message: 'after must be a cursor returned as "next"' })
  after?: string;

  @PageLimit(1000, 500)
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
