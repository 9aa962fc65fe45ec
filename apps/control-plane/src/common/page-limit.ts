import { applyDecorators } from '@nestjs/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';

/** The `limit` query parameter of a paged listing: an optional integer from `min` to `max`, `fallback` when absent. */
export function PageLimit(max: number, fallback: number, min = 1): PropertyDecorator {
  return applyDecorators(ApiPropertyOptional({ minimum: min, maximum: max, default: fallback }), IsOptional(), Type(() => Number), IsInt(), Min(min), Max(max));
}
