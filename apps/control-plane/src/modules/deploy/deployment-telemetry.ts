import { Injectable } from '@nestjs/common';
import type { BuildLogLine } from '@berth/contracts';
import { isUuid } from '@berth/core';
import { notFound } from '../../common/errors';
import { DeploymentsRepository, type DeploymentPlacement } from './deployments.repository';

export type { DeploymentPlacement };
type BuildLogListener = (deploymentId: string) => void;

/**
 * What the logs and stats modules ask of the deploy module, so they never name its tables: where a
 * deployment runs, its build output (read, and a hook called after new lines were stored), and
 * retention of build output.
 */
@Injectable()
export class DeploymentTelemetry {
  private readonly buildLogListeners = new Set<BuildLogListener>();

  constructor(private readonly repo: DeploymentsRepository) {}

  placements(deploymentIds: readonly string[]): Promise<DeploymentPlacement[]> {
    return this.repo.placements(deploymentIds.filter(isUuid));
  }

  /** The app of a deployment; a 404 DomainError for an unknown one. */
  async appOf(deploymentId: string): Promise<string> {
    const [placement] = await this.placements([deploymentId]);
    if (!placement) throw notFound('deployment', deploymentId);
    return placement.appId;
  }

  /** Build output lines with seq > after, in seq order. */
  readBuildLog(deploymentId: string, after: number, limit: number): Promise<BuildLogLine[]> {
    return this.repo.readBuildLogLines(deploymentId, after, limit);
  }

  /** Retention: deletes at most `batch` build log lines of deployments past the newest `keep` of their app. */
  pruneBuildLogs(keep: number, batch: number): Promise<number> {
    return this.repo.pruneBuildLogsBeyondNewest(keep, batch);
  }

  /** Called with a deployment id each time new build log lines of it were stored (committed). */
  onBuildLogStored(listener: BuildLogListener): () => void {
    this.buildLogListeners.add(listener);
    return () => void this.buildLogListeners.delete(listener);
  }

  /** The deploy module calls this after it stored build log lines. */
  buildLogStored(deploymentId: string): void {
    for (const listener of this.buildLogListeners) listener(deploymentId);
  }
}
