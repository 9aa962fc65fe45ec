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

/** How long a container found to be run by a worker is trusted without asking again. */
export const OWNERSHIP_CACHE_MS = 10_000;

/**
 * Checks claims against the deploy module's placements, remembering the containers that passed for
 * OWNERSHIP_CACHE_MS, so a worker's steady stream of ticks and log batches costs no query each.
 * (A deployment's app and worker do not change once placed; refusals are never remembered.)
 */
export class ContainerOwnership {
  private readonly verified = new Map<string, number>();

  constructor(
    private readonly placements: (deploymentIds: string[]) => Promise<KnownPlacement[]>,
    private readonly now: () => number,
  ) {}

  async assert(workerId: string, claimed: readonly ClaimedContainer[]): Promise<void> {
    const now = this.now();
    const key = (c: ClaimedContainer) => `${workerId}|${c.appId}|${c.deploymentId}|${c.containerId}`;
    const unknown = claimed.filter((c) => (this.verified.get(key(c)) ?? 0) <= now);
    if (unknown.length === 0) return;
    assertContainersOfWorker(workerId, unknown, await this.placements([...new Set(unknown.map((c) => c.deploymentId))]));
    if (this.verified.size > 100_000) this.verified.clear();
    for (const c of unknown) this.verified.set(key(c), now + OWNERSHIP_CACHE_MS);
  }
}
