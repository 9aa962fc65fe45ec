import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type { WorkerAppView, WorkerCapacity, WorkerStatus, WorkerView } from '@berth/contracts';
import { IsOptional, IsString, Matches } from 'class-validator';

import { DNS_LABEL_PATTERN as DNS_LABEL, DNS_LABEL_RULE } from '@berth/core';

/** A worker name and a zone are DNS labels, so they can appear in host names and labels. */

export class CreateWorkerDto {
  @ApiProperty({ example: 'worker-1', description: 'A DNS label naming the worker.' })
  @IsString()
  @Matches(DNS_LABEL, { message: `name ${DNS_LABEL_RULE}` })
  name!: string;

  @ApiPropertyOptional({ example: 'de', description: 'A DNS label; apps that name this zone are placed only on its workers.' })
  @IsOptional()
  @IsString()
  @Matches(DNS_LABEL, { message: `zone ${DNS_LABEL_RULE}` })
  zone?: string;
}

export class CreatedWorkerDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ example: 'bwt_…', description: 'The worker token, shown only once: pass it to the agent as BERTH_WORKER_TOKEN.' })
  token!: string;
}

class WorkerCapacityDto implements WorkerCapacity {
  @ApiProperty() memoryMb!: number;
  @ApiProperty() cpus!: number;
}

class WorkerAppViewDto implements WorkerAppView {
  @ApiProperty({ format: 'uuid' }) appId!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ format: 'uuid' }) deploymentId!: string;
  @ApiProperty({ enum: ['running', 'deploying', 'stopped'] }) state!: WorkerAppView['state'];
}

export class WorkerViewDto implements WorkerView {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() name!: string;
  @ApiPropertyOptional() zone?: string;
  @ApiProperty({ enum: ['registered', 'online', 'offline'] }) status!: WorkerStatus;
  @ApiPropertyOptional({ type: WorkerCapacityDto, description: 'What the agent reported when it last said hello.' }) capacity?: WorkerCapacity;
  @ApiProperty({ description: 'Memory (MB) of the apps running there and of the deployments assigned to it.' }) allocatedMemoryMb!: number;
  @ApiPropertyOptional() advertiseIp?: string;
  @ApiPropertyOptional({ format: 'date-time', description: 'When the control plane last heard from it (PostgreSQL clock).' }) lastHeartbeatAt?: string;
  @ApiProperty({ type: [WorkerAppViewDto], description: 'The apps placed on this worker.' }) apps!: WorkerAppView[];
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
}
