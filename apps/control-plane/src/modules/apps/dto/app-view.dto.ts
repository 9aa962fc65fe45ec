import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { CreateAppDto } from './app-spec.dto';

export class AppEndpointDto {
  @ApiProperty({ format: 'uuid' }) workerId: string;
  @ApiProperty({ example: '10.0.0.7:32768', description: 'host:port where the app answers' }) address: string;
}

/** GET /api/apps/:id: the spec plus what Berth knows about it. */
export class AppViewDto extends CreateAppDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ enum: ['created', 'deploying', 'running', 'failed', 'stopped'] }) status: string;
  @ApiPropertyOptional({ enum: ['worker_offline', 'worker_removed'], description: 'why the app is stopped' }) statusReason?: string;
  @ApiProperty({ type: [AppEndpointDto] }) endpoints: AppEndpointDto[];
  @ApiProperty({
    description: 'push-event URL per git host (POST, signed with the webhook secret)',
    example: { github: 'https://berth.example.com/api/webhooks/github/0b5c…', gitlab: 'https://berth.example.com/api/webhooks/gitlab/0b5c…' },
  })
  webhooks: Record<string, string>;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
  @ApiProperty({ format: 'date-time' }) updatedAt: string;
}

/** POST /api/apps: the app, plus its webhook secret, shown this once (rotate with POST /api/apps/:id/webhook-secret). */
export class CreatedAppViewDto extends AppViewDto {
  @ApiProperty({ description: 'HMAC secret (GitLab: the token) for the git host’s webhook settings; shown once' }) webhookSecret: string;
}
