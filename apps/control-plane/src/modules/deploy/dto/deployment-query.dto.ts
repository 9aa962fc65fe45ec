import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, Min } from 'class-validator';
import { PageLimit } from '../../../common/page-limit';

export class ListDeploymentsQueryDto {
  @PageLimit(500, 100)
  limit?: number;
}

export class BuildLogsQueryDto {
  @ApiPropertyOptional({ minimum: 0, description: 'return lines with a greater seq (the `next` of the previous page)' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  after?: number;

  @PageLimit(5000, 500)
  limit?: number;
}
