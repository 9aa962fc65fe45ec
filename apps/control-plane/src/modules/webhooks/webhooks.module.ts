import { Module } from '@nestjs/common';
import { AppsModule } from '../apps/apps.module';
import { DeployModule } from '../deploy/deploy.module';
import { WebhooksController } from './webhooks.controller';
import { WebhooksService } from './webhooks.service';

/** Push events from git hosts: verified, recorded once, deployed at the pushed commit. Depends on apps and deploy; neither knows it. */
@Module({
  imports: [AppsModule, DeployModule],
  controllers: [WebhooksController],
  providers: [WebhooksService],
})
export class WebhooksModule {}
