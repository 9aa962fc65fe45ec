import { ApiProperty } from '@nestjs/swagger';
import { CreateAppDto } from './app-spec.dto';

export class AppEndpointDto {
  @ApiProperty({ format: 'uuid' }) workerId: string;
  @ApiProperty({ example: '10.0.0.7:32768', description: 'host:port where the app answers' }) address: string;
}

/** GET /api/apps/:id: the spec plus what Berth knows about it. */
export class AppViewDto extends CreateAppDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ enum: ['created', 'deploying', 'running', 'failed', 'stopped'] }) status: string;
  @ApiProperty({ type: [AppEndpointDto] }) endpoints: AppEndpointDto[];
  @ApiProperty({ format: 'date-time' }) createdAt: string;
  @ApiProperty({ format: 'date-time' }) updatedAt: string;
}
