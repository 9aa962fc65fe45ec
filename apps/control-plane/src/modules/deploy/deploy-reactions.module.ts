import { Module } from '@nestjs/common';
import { AppsModule } from '../apps/apps.module';
import { AppDeletedReaction } from './app-deleted.reaction';
import { DeployModule } from './deploy.module';

/**
 * What the deploy module does on its own in reply to other modules' events (a deleted app ends its
 * deployments). It appends events, so only a serving control plane runs it, never a maintenance command.
 */
@Module({
  imports: [AppsModule, DeployModule],
  providers: [AppDeletedReaction],
})
export class DeployReactionsModule {}
