import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsOptional, IsString, Matches } from 'class-validator';

/** POST /api/apps/:id/deployments: the body is optional. */
export class CreateDeploymentDto {
  @ApiPropertyOptional({ example: '3f2c9ab', pattern: '^[0-9a-f]{7,40}$', description: 'a commit sha (7-40 hex digits); absent: the head of the branch' })
  @IsOptional()
  @IsString()
  @Matches(/^[0-9a-fA-F]{7,40}$/, { message: '$property must be a commit sha: 7 to 40 hexadecimal digits' })
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.toLowerCase() : value))
  commit?: string;
}
