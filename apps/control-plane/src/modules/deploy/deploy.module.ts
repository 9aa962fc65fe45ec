import { Module } from '@nestjs/common';
import { DeployController } from './deploy.controller';
import { DeployService } from './deploy.service';

/** Deployments: the HTTP API, the agent-facing commands (DeployService) and the `deployments` read model. */
@Module({
  controllers: [DeployController],
  providers: [DeployService],
  exports: [DeployService],
})
export class DeployModule {}
