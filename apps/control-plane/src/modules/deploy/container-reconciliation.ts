import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import type { AgentHello, ContainersRemoveMsg, ContainersRemoveReply } from '@berth/contracts';
import { isUuid } from '@berth/core';
import { EventStore } from '@berth/event-store';
import { Projections } from '../../database/projections.service';
import { AppsService } from '../apps/apps.service';
import type { AgentSocket } from '../workers/agent-connections';
import { AgentMessages } from '../workers/agent-messages.registry';
import { DeploymentsRepository } from './deployments.repository';

/** How long a `containers:remove` waits for the agent's answer (it waits for the app's running job first). */
const REMOVE_ACK_TIMEOUT_MS = 15 * 60_000;
const UNFINISHED: ReadonlySet<string> = new Set(['queued', 'assigned', 'building', 'starting']);

export type Verdict = { kind: 'adopt' } | { kind: 'remove'; reason: string } | { kind: 'leave' };

/**
 * Pure: what to do with one container an agent reports in its hello, given its app's serving
 * deployment and the container's own deployment.
 */
export function judgeContainer(
  workerId: string,
  container: { deploymentId: string; running: boolean },
  app: { status: string; deploymentId?: string; workerId?: string } | undefined,
  deployment: { status: string; workerId?: string | null } | undefined,
): Verdict {
  if (!app) return { kind: 'leave' }; // a deleted app's containers are AgentAppRemoval's; an unknown app is not ours to touch
  // The serving container (a stopped app was already restored by the hello itself, with WorkerCameOnline).
  if (app.deploymentId === container.deploymentId && app.workerId === workerId) return { kind: 'adopt' };
  if (deployment && UNFINISHED.has(deployment.status) && deployment.workerId === workerId) return { kind: 'leave' }; // its job is still running
  if (!deployment) return { kind: 'leave' };
  return { kind: 'remove', reason: deployment.status === 'failed' ? 'its deployment failed' : 'a newer deployment serves the app' };
}

/**
 * Seed 4, when a worker returns: the containers its agent still runs are reconciled against what the
 * app should run. The container of the app's current deployment is adopted (a stopped app already ran
 * again with the hello: WorkersService.bringOnline's cascade); containers superseded meanwhile — the app was redeployed elsewhere, or that
 * deployment failed — are stopped and removed. No duplicate containers.
 */
@Injectable()
export class ContainerReconciliation implements OnModuleInit {
  private readonly logger = new Logger('container-reconciliation');

  constructor(
    private readonly messages: AgentMessages,
    private readonly apps: AppsService,
    private readonly repo: DeploymentsRepository,
    private readonly store: EventStore,
    private readonly projections: Projections,
  ) {}

  onModuleInit(): void {
    this.messages.afterHello((socket, hello) => this.reconcile(socket, hello));
  }

  async reconcile(socket: AgentSocket, hello: AgentHello): Promise<void> {
    const workerId = socket.data.worker.workerId;
    const containers = hello.containers.filter((c) => isUuid(c.appId) && isUuid(c.deploymentId));
    if (containers.length === 0) return;
    // Judge on read models that have caught up with everything appended so far (a success just recorded, say).
    await this.projections.waitFor(await this.store.headCursor(), 30_000);
    const apps = new Map((await this.apps.placements(containers.map((c) => c.appId))).map((a) => [a.appId, a]));
    const toRemove: ContainersRemoveMsg['containers'] = [];
    for (const c of containers) {
      const deployment = await this.repo.find(c.deploymentId);
      const verdict = judgeContainer(workerId, c, apps.get(c.appId), deployment ? { status: deployment.status, workerId: deployment.worker_id } : undefined);
      if (verdict.kind === 'remove') {
        toRemove.push({ containerId: c.containerId, appId: c.appId, deploymentId: c.deploymentId, reason: verdict.reason });
      }
    }
    if (toRemove.length === 0 || !socket.connected) return;
    this.logger.log({ workerId, containers: toRemove.map((c) => c.containerId), msg: 'telling the agent to remove superseded containers' });
    socket.timeout(REMOVE_ACK_TIMEOUT_MS).emit('containers:remove', { containers: toRemove }, (err: Error | null, reply?: ContainersRemoveReply) => {
      if (err || reply?.error) this.logger.warn({ workerId, error: err?.message ?? reply?.error, msg: 'superseded containers not all removed; the agent\'s next hello lists them again' });
    });
  }
}
