import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { streamIds, type DeploymentView, type JobSpec } from '@berth/contracts';
import { isUuid } from '@berth/core';
import { cursorOfAppend, EventStore } from '@berth/event-store';
import { CLOCK, Clock, ID_GENERATOR, IdGenerator } from '../../common/clock';
import { notFound } from '../../common/errors';
import type { RequestMeta } from '../../common/request-meta';
import { Projections } from '../../database/projections.service';
import { StreamHandler } from '../../database/stream-handler';
import { appDecider } from '../apps/apps.decider';
import { AppsService } from '../apps/apps.service';
import { WorkersService } from '../workers/workers.service';
import { deployDecider, isTerminal } from './deploy.decider';
import { DeploymentStream, MAX_ATTEMPTS } from './deployment-stream';
import { DeploymentsRepository, toDeploymentView, type DeploymentRow, type QueuedDeployment } from './deployments.repository';
import { deploymentsProjector } from './projections/deployments.projector';

export type { QueuedDeployment };

const SCHEDULER_ACTOR = 'system:scheduler';

/** A concurrent request with the same caller-chosen deployment id committed first. */
class AlreadyRequested extends Error {}

/**
 * Deployments as users and the platform see them: requested over HTTP (or by a webhook), placed by the
 * scheduler (markWaiting, assign), ended by the platform (failJob, cancel), and read back. What the
 * worker holding a job reports is JobResults'; build output is BuildLogs'.
 */
@Injectable()
export class DeployService implements OnModuleInit {
  constructor(
    private readonly repo: DeploymentsRepository,
    private readonly stream: DeploymentStream,
    private readonly streams: StreamHandler,
    private readonly store: EventStore,
    private readonly projections: Projections,
    private readonly apps: AppsService,
    private readonly workers: WorkersService,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(ID_GENERATOR) private readonly ids: IdGenerator,
  ) {}

  onModuleInit(): void {
    this.projections.register(deploymentsProjector);
  }

  /**
   * DeploymentRequested with a snapshot of the app's spec; the deployment waits `queued` for the scheduler.
   * With `deploymentId` (chosen by the caller, e.g. recorded first by a webhook delivery) the request is
   * idempotent: a deployment that already exists is answered as it is. `causationId`: the event that caused it.
   */
  async request(
    appId: string,
    opts: { commit?: string; trigger?: 'api' | 'webhook'; deploymentId?: string; causationId?: string },
    meta: RequestMeta,
  ): Promise<DeploymentView> {
    const deploymentId = opts.deploymentId ?? this.ids.newId();
    const alreadyRequested = async () => opts.deploymentId !== undefined && (await this.store.streamVersion(streamIds.deployment(deploymentId))) > 0;
    await this.streams.handleMany(
      async () => {
        if (await alreadyRequested()) throw new AlreadyRequested();
        const app = await this.streams.load(streamIds.app(appId), appDecider);
        if (app.state.status !== 'active' || !app.state.spec) throw notFound('app', appId);
        const events = deployDecider.decide(
          { type: 'RequestDeployment', deploymentId, appId, app: app.state.spec, commit: opts.commit, trigger: opts.trigger ?? 'api' },
          deployDecider.initialState(),
          this.clock.now(),
        );
        // The app stream's entry has no events: it only checks the app did not change or go away meanwhile.
        return [
          { streamId: streamIds.deployment(deploymentId), streamType: 'deployment', expectedVersion: 'no_stream', events },
          { streamId: streamIds.app(appId), streamType: 'app', expectedVersion: app.version, events: [] },
        ];
      },
      { actor: meta.actor, correlationId: meta.correlationId, ...(opts.causationId ? { causationId: opts.causationId } : {}) },
      { maxAttempts: MAX_ATTEMPTS },
    ).catch(async (err: unknown) => {
      if (!(err instanceof AlreadyRequested)) throw err;
      // Read-your-writes for someone else's append: wait for the read models to reach that event itself.
      const [first] = await this.store.readStream(streamIds.deployment(deploymentId));
      await this.projections.waitFor(cursorOfAppend({ transactionId: first.transactionId, positions: [first.position] }));
    });
    return this.get(deploymentId);
  }

  /** The scheduler cannot place a queued deployment; recorded only when the reason changed. */
  async markWaiting(deploymentId: string, reason: string): Promise<void> {
    await this.stream.execute(deploymentId, { type: 'MarkWaiting', reason }, SCHEDULER_ACTOR);
  }

  /** The scheduler placed a queued deployment on a worker (JobAssigned). */
  async assign(deploymentId: string, job: { jobId: string; workerId: string; memoryMb: number }): Promise<void> {
    await this.stream.execute(deploymentId, { type: 'AssignJob', ...job }, SCHEDULER_ACTOR);
  }

  /** The platform gives up on a job its worker never finished (stuck-job recovery): JobFailed, unless already over. */
  async failJob(deploymentId: string, reason: string): Promise<void> {
    await this.stream.execute(deploymentId, { type: 'FailJob', reason }, 'system:recovery');
  }

  /** Ends an unfinished deployment as failed (CancelDeployment); a finished one is left as it is. */
  async cancel(deploymentId: string, reason: string, actor: string): Promise<void> {
    await this.stream.execute(deploymentId, { type: 'CancelDeployment', reason }, actor);
  }

  async get(deploymentId: string): Promise<DeploymentView> {
    const found = isUuid(deploymentId) ? await this.repo.find(deploymentId) : undefined;
    if (!found) throw notFound('deployment', deploymentId);
    return (await this.views([found]))[0];
  }

  /** Newest first. */
  async listForApp(appId: string, limit = 100): Promise<DeploymentView[]> {
    if (!(await this.apps.exists(appId))) throw notFound('app', appId);
    return this.views(await this.repo.listOfApp(appId, limit));
  }

  /** An app's deployments that have not finished yet. */
  listUnfinishedOfApp(appId: string): Promise<string[]> {
    return this.repo.listUnfinishedOfApp(appId);
  }

  /**
   * For the scheduler: deployments waiting for a worker, oldest first. A deployment whose app was
   * deleted meanwhile is left out: nothing should be placed for it.
   */
  async listQueued(): Promise<QueuedDeployment[]> {
    const queued = await this.repo.listQueued();
    const live = await this.apps.existing(queued.map((q) => q.appId));
    return queued.filter((q) => live.has(q.appId));
  }

  /** For the agent: the jobs a worker holds and has not finished (sent again when it reconnects). */
  async jobsForWorker(workerId: string): Promise<JobSpec[]> {
    if (!isUuid(workerId)) return [];
    const held = await this.repo.listActiveJobsOfWorker(workerId);
    const specs = await Promise.all(held.map(({ deploymentId, jobId }) => this.jobSpec(deploymentId, jobId, workerId)));
    return specs.filter((s): s is JobSpec => s !== null);
  }

  /**
   * The job as its worker runs it, from the deployment's own stream (no read model, so a job can be
   * pushed the moment JobAssigned is appended); null when that worker no longer holds that job.
   */
  async jobSpec(deploymentId: string, jobId: string, workerId: string): Promise<JobSpec | null> {
    const { state } = await this.stream.load(deploymentId);
    if (state.jobId !== jobId || state.workerId !== workerId || isTerminal(state) || !state.app) return null;
    const spec: JobSpec = { jobId, deploymentId, appId: state.appId, app: state.app };
    if (state.requestedCommit) spec.commit = state.requestedCommit;
    if (state.status !== 'assigned') {
      const logSeqStart = await this.repo.lastBuildLogSeq(deploymentId);
      if (logSeqStart > 0) spec.logSeqStart = logSeqStart;
    }
    return spec;
  }

  /** Rows to views, with each address at its worker's advertised address (asked of the workers module). */
  private async views(rows: DeploymentRow[]): Promise<DeploymentView[]> {
    const ips = await this.workers.advertiseIps(rows.flatMap((r) => (r.worker_id ? [r.worker_id] : [])));
    return rows.map((row) => toDeploymentView(row, row.worker_id ? ips.get(row.worker_id) : undefined));
  }
}
