import { Logger, Module } from '@nestjs/common';
import type { ControlPlaneConfig } from '@berth/config';
import { SecretBox } from '../../common/secret-box';
import { CONTROL_PLANE_CONFIG } from '../../config/config.module';
import { WorkersModule } from '../workers/workers.module';
import { AgentAppRemoval } from './agent-app-removal';
import { AppsController } from './apps.controller';
import { AppsRepository } from './apps.repository';
import { AppsService } from './apps.service';

@Module({
  imports: [WorkersModule],
  controllers: [AppsController],
  providers: [
    AppsRepository,
    AppsService,
    AgentAppRemoval,
    {
      provide: SecretBox,
      inject: [CONTROL_PLANE_CONFIG],
      useFactory: (config: ControlPlaneConfig) => {
        const box = SecretBox.fromKey(config.secretKey);
        if (box.ephemeral) new Logger('secrets').warn('BERTH_SECRET_KEY is unset: webhook secrets are sealed with a key for this process only and stop verifying after a restart (npm start sets one in ./data/secret-key)');
        return box;
      },
    },
  ],
  exports: [AppsService, SecretBox],
})
export class AppsModule {}
