import { Module } from '@nestjs/common';
import { AppsModule } from '../apps/apps.module';
import { WorkersModule } from '../workers/workers.module';
import { AgentJobFeed } from './agent-job-feed';
import { AppDeletedReaction } from './app-deleted.reaction';
import { ContainerReconciliation } from './container-reconciliation';
import { BuildLogs } from './build-logs';
import { ContainerExits } from './container-exits';
import { DeployController } from './deploy.controller';
import { DeployService } from './deploy.service';
import { DeploymentStream } from './deployment-stream';
import { DeploymentTelemetry } from './deployment-telemetry';
import { DeploymentsRepository } from './deployments.repository';
import { JobResults } from './job-results';
import { StuckJobRecovery } from './stuck-job-recovery';

/**
 * Deployments: the HTTP API and the scheduler's commands (DeployService), what agents report
 * (JobResults, BuildLogs, ContainerExits — the module's agent messages), pushing jobs to agents, and the
 * `deployments` read model.
 */
@Module({
  imports: [AppsModule, WorkersModule],
  controllers: [DeployController],
  providers: [DeploymentsRepository, DeploymentStream, DeployService, JobResults, BuildLogs, ContainerExits, AgentJobFeed, AppDeletedReaction, StuckJobRecovery, ContainerReconciliation, DeploymentTelemetry],
  exports: [DeployService, DeploymentTelemetry],
})
export class DeployModule {}
