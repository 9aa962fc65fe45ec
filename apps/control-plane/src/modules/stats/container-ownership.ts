/**
 * Whether a worker may report on a container (stats and logs): the container's deployment must belong
 * to the app it names, be placed on that worker, and run that container once one is recorded.
 */
import { DomainError, ErrorCode } from '../../common/errors';

export interface ClaimedContainer {
  containerId: string;
  appId: string;
  deploymentId: string;
}

export interface KnownPlacement {
  deploymentId: string;
  appId: string;
  workerId: string | null;
  containerId: string | null;
}

/** Throws a 400 DomainError naming the first container the worker does not run. */
export function assertContainersOfWorker(workerId: string, claimed: readonly ClaimedContainer[], placements: readonly KnownPlacement[]): void {
  const byDeployment = new Map(placements.map((p) => [p.deploymentId, p]));
  for (const c of claimed) {
    const p = byDeployment.get(c.deploymentId);
    const why = !p
      ? 'its deployment does not exist'
      : p.appId !== c.appId
        ? `its deployment belongs to another app`
        : p.workerId !== workerId
          ? 'its deployment is not placed on this worker'
          : p.containerId !== null && p.containerId !== c.containerId
            ? `its deployment runs container ${p.containerId}`
            : undefined;
    if (why) {
      throw new DomainError(ErrorCode.InvalidInput, `container ${c.containerId} (app ${c.appId}, deployment ${c.deploymentId}) is not run by this worker: ${why}`);
    }
  }
}
