import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { DEPLOYMENT_STATUSES } from '@berth/contracts';

export class DeploymentViewDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ format: 'uuid' }) appId: string;
  @ApiProperty({ enum: DEPLOYMENT_STATUSES }) status: string;
  @ApiPropertyOptional({ description: 'why it waits (queued) or why it failed (failed)' }) reason?: string;
  @ApiPropertyOptional({ description: 'the commit asked for, or the one the worker checked out' }) commit?: string;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
  @ApiProperty({ format: 'date-time' }) updatedAt: string;
  @ApiPropertyOptional({ format: 'date-time' }) finishedAt?: string;
  @ApiPropertyOptional({ format: 'uuid' }) workerId?: string;
  @ApiPropertyOptional({ format: 'uuid' }) jobId?: string;
  @ApiPropertyOptional({ example: '10.0.0.7:32768', description: 'host:port of the container, once succeeded' }) address?: string;
  @ApiPropertyOptional({ type: [String], description: 'the last lines the container printed, when it failed' }) logTail?: string[];
}

export class BuildLogLineDto {
  @ApiProperty() seq: number;
  @ApiProperty() line: string;
  @ApiProperty({ format: 'date-time' }) at: string;
}

export class BuildLogPageDto {
  @ApiProperty({ type: [BuildLogLineDto] }) lines: BuildLogLineDto[];
  @ApiProperty({ type: Number, nullable: true, description: 'pass as `after` to read on; null before the first line' }) next: number | null;
}
