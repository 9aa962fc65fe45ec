import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import {
  streamIds,
  type BuildLogLine,
  type ContainerStartedMsg,
  type DeploymentView,
  type ImageBuiltMsg,
  type JobFailedMsg,
  type JobLogMsg,
  type JobSpec,
  type JobStartedMsg,
  type JobSucceededMsg,
} from '@berth/contracts';
import { cursorOfAppend, EventStore } from '@berth/event-store';
import type { Pool } from 'pg';
import { CLOCK, Clock, ID_GENERATOR, IdGenerator } from '../../common/clock';
import { DomainError, ErrorCode, notFound } from '../../common/errors';
import type { RequestMeta } from '../../common/request-meta';
import { PG_POOL } from '../../database/pg-pool';
import { Projections } from '../../database/projections.service';
import { StreamHandler } from '../../database/stream-handler';
import { isUuid } from '../apps/app-spec.rules';
import { appDecider } from '../apps/apps.decider';
import { deployDecider, isTerminal, type DeployCommand } from './deploy.decider';
import * as q from './deployments.queries';
import { deploymentsProjector } from './projections/deployments.projector';

/** Seed section 3's cap, applied to build output too: each line at most 8 KiB. */
export const BUILD_LOG_LINE_MAX_BYTES = 8 * 1024;
const MAX_ATTEMPTS = 5;
const SCHEDULER_ACTOR = 'system:scheduler';

export type QueuedDeployment = q.QueuedDeployment;

/** A concurrent request with the same caller-chosen deployment id committed first. */
class AlreadyRequested extends Error {}

const jobNotHeld = (jobId: string) => new DomainError(ErrorCode.NotFound, `job ${jobId} is not assigned to this worker`);

/**
 * Deployments: requested over HTTP (or by a webhook), placed by the scheduler (markWaiting, assign),
 * and driven to their outcome by the worker holding the job (record*). Every event after the
 * DeploymentRequested carries its correlationId and, as causationId, the previous event's id.
 */
@Injectable()
export class DeployService implements OnModuleInit {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    private readonly store: EventStore,
    private readonly streams: StreamHandler,
    private readonly projections: Projections,
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
    await this.execute(deploymentId, { type: 'MarkWaiting', reason }, SCHEDULER_ACTOR);
  }

  /** The scheduler placed a queued deployment on a worker (JobAssigned). */
  async assign(deploymentId: string, job: { jobId: string; workerId: string; memoryMb: number }): Promise<void> {
    await this.execute(deploymentId, { type: 'AssignJob', ...job }, SCHEDULER_ACTOR);
  }

  /** The platform gives up on a job its worker never finished (stuck-job recovery): JobFailed, unless already over. */
  async failJob(deploymentId: string, reason: string): Promise<void> {
    await this.execute(deploymentId, { type: 'FailJob', reason }, 'system:recovery');
  }

  /** Ends an unfinished deployment as failed (CancelDeployment); a finished one is left as it is. */
  async cancel(deploymentId: string, reason: string, actor: string): Promise<void> {
    await this.execute(deploymentId, { type: 'CancelDeployment', reason }, actor);
  }

  async recordJobStarted(workerId: string, msg: JobStartedMsg): Promise<void> {
    await this.fromWorker(workerId, msg.jobId, { type: 'RecordJobStarted', workerId, jobId: msg.jobId, phase: msg.phase, commit: msg.commit });
  }

  /** Build output: telemetry (no events), stored once per (deployment, seq) however often the agent resends it. */
  async recordBuildLog(workerId: string, msg: JobLogMsg): Promise<void> {
    const job = isUuid(msg.jobId) ? await q.findJob(this.pool, msg.jobId) : null;
    if (!job || job.workerId !== workerId) throw jobNotHeld(msg.jobId);
    const now = this.clock.now();
    const lines: BuildLogLine[] = (Array.isArray(msg.lines) ? msg.lines : [])
      .filter((l) => Number.isInteger(l.seq) && l.seq >= 0 && l.seq <= 2_147_483_647 && typeof l.line === 'string')
      .map((l) => ({ seq: l.seq, line: capLogLine(l.line), at: validIsoOr(l.at, now) }));
    await q.insertBuildLogLines(this.pool, job.deploymentId, lines);
  }

  async recordImageBuilt(workerId: string, msg: ImageBuiltMsg): Promise<void> {
    await this.fromWorker(workerId, msg.jobId, { type: 'RecordImageBuilt', workerId, jobId: msg.jobId, image: msg.image });
  }

  async recordContainerStarted(workerId: string, msg: ContainerStartedMsg): Promise<void> {
    const { jobId, containerId, hostPort } = msg;
    await this.fromWorker(workerId, jobId, { type: 'RecordContainerStarted', workerId, jobId, containerId, hostPort });
  }

  async recordJobSucceeded(workerId: string, msg: JobSucceededMsg): Promise<void> {
    const { jobId, containerId, hostPort } = msg;
    await this.fromWorker(workerId, jobId, { type: 'RecordJobSucceeded', workerId, jobId, containerId, hostPort });
  }

  async recordJobFailed(workerId: string, msg: JobFailedMsg): Promise<void> {
    const { jobId, reason, logTail } = msg;
    await this.fromWorker(workerId, jobId, { type: 'RecordJobFailed', workerId, jobId, reason, logTail });
  }

  async get(deploymentId: string): Promise<DeploymentView> {
    const found = isUuid(deploymentId) ? await q.findDeployment(this.pool, deploymentId) : null;
    if (!found) throw notFound('deployment', deploymentId);
    return found;
  }

  /** Newest first. */
  async listForApp(appId: string, limit = 100): Promise<DeploymentView[]> {
    if (!isUuid(appId) || !(await q.appExists(this.pool, appId))) throw notFound('app', appId);
    return q.listDeploymentsOfApp(this.pool, appId, limit);
  }

  async buildLogs(deploymentId: string, after = -1, limit = 500): Promise<{ lines: BuildLogLine[]; next: number | null }> {
    await this.get(deploymentId);
    const lines = await q.readBuildLogLines(this.pool, deploymentId, after, limit);
    return { lines, next: lines.length > 0 ? lines[lines.length - 1].seq : after >= 0 ? after : null };
  }

  /** An app's deployments that have not finished yet. */
  listUnfinishedOfApp(appId: string): Promise<string[]> {
    return q.listUnfinishedDeploymentsOfApp(this.pool, appId);
  }

  /** Unfinished deployments whose app is missing from the `apps` read model. */
  listUnfinishedWithoutApp(): Promise<{ deploymentId: string; appId: string }[]> {
    return q.listUnfinishedDeploymentsWithoutApp(this.pool);
  }

  /** For the scheduler: deployments waiting for a worker, oldest first. */
  listQueued(): Promise<QueuedDeployment[]> {
    return q.listQueuedDeployments(this.pool);
  }

  /** For the agent gateway: the jobs a worker holds and has not finished (sent again when it reconnects). */
  async jobsForWorker(workerId: string): Promise<JobSpec[]> {
    if (!isUuid(workerId)) return [];
    const held = await q.listActiveJobIdsOfWorker(this.pool, workerId);
    const specs = await Promise.all(held.map(({ deploymentId, jobId }) => this.jobSpec(deploymentId, jobId, workerId)));
    return specs.filter((s): s is JobSpec => s !== null);
  }

  /**
   * The job as its worker runs it, from the deployment's own stream (no read model, so a job can be
   * pushed the moment JobAssigned is appended); null when that worker no longer holds that job.
   */
  async jobSpec(deploymentId: string, jobId: string, workerId: string): Promise<JobSpec | null> {
    const { state } = await this.streams.load(streamIds.deployment(deploymentId), deployDecider);
    if (state.jobId !== jobId || state.workerId !== workerId || isTerminal(state) || !state.app) return null;
    const spec: JobSpec = { jobId, deploymentId, appId: state.appId, app: state.app };
    if (state.requestedCommit) spec.commit = state.requestedCommit;
    if (state.status !== 'assigned') {
      const logSeqStart = await q.lastBuildLogSeq(this.pool, deploymentId);
      if (logSeqStart > 0) spec.logSeqStart = logSeqStart;
    }
    return spec;
  }

  private async fromWorker(workerId: string, jobId: string, command: DeployCommand): Promise<void> {
    const progressOnly = command.type === 'RecordImageBuilt' || command.type === 'RecordContainerStarted';
    if (!isUuid(jobId)) throw jobNotHeld(jobId);
    // A job is pushed straight from its JobAssigned event, so the agent may answer before the read
    // model has the job: on a miss, let the read models catch up with the log and look again.
    let job = await q.findJob(this.pool, jobId);
    if (!job) {
      await this.projections.waitFor(await this.store.headCursor());
      job = await q.findJob(this.pool, jobId);
    }
    if (!job) throw jobNotHeld(jobId);
    await this.execute(job.deploymentId, command, `worker:${workerId}`, !progressOnly);
  }

  /**
   * load -> decide -> append(expected version) with the deployment's correlation id and the causation chain.
   * `waitForReadModels: false` for an agent's progress reports: the agent reads nothing back, and its
   * next message (often the result) queues behind this acknowledgement.
   */
  private async execute(deploymentId: string, command: DeployCommand, actor: string, waitForReadModels = true): Promise<void> {
    await this.streams.handle(
      streamIds.deployment(deploymentId),
      'deployment',
      deployDecider,
      command,
      (history) => {
        const previous = history[history.length - 1];
        return { actor, correlationId: history[0].metadata.correlationId, causationId: previous.eventId ?? previous.metadata.eventId };
      },
      { waitForProjections: waitForReadModels, ifMissing: () => notFound('deployment', deploymentId), maxAttempts: MAX_ATTEMPTS },
    );
  }
}

/** NUL bytes cannot be stored (and mean nothing in a log); a line longer than the cap is cut at a character boundary. */
export function capLogLine(line: string): string {
  const clean = line.includes('\0') ? line.replace(/\0/g, '') : line;
  if (Buffer.byteLength(clean, 'utf8') <= BUILD_LOG_LINE_MAX_BYTES) return clean;
  return Buffer.from(clean, 'utf8').subarray(0, BUILD_LOG_LINE_MAX_BYTES).toString('utf8').replace(/\uFFFD$/, '');
}

function validIsoOr(at: unknown, fallback: Date): string {
  const d = typeof at === 'string' ? new Date(at) : null;
  return d && !Number.isNaN(d.getTime()) ? d.toISOString() : fallback.toISOString();
}
