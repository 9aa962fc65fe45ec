import { Injectable, OnModuleInit } from '@nestjs/common';
import type { ContainerStartedMsg, ImageBuiltMsg, JobFailedMsg, JobStartedMsg, JobSucceededMsg } from '@berth/contracts';
import { isUuid } from '@berth/core';
import { EventStore } from '@berth/event-store';
import { int, list, message, object, oneOf, optional, text, uuid } from '../../common/checks';
import { DomainError, ErrorCode } from '../../common/errors';
import { Projections } from '../../database/projections.service';
import { AgentMessages } from '../workers/agent-messages.registry';
import type { DeployCommand } from './deploy.decider';
import { DeploymentStream } from './deployment-stream';
import { DeploymentsRepository } from './deployments.repository';

/** Most lines a failure's log tail may carry. */
export const MAX_LOG_TAIL_LINES = 10_000;

const hostPort = int(1, 65_535);
export const parseJobStarted = message<JobStartedMsg>('job:started', object({ jobId: uuid, phase: oneOf('building', 'starting'), commit: optional(text(200)) }));
export const parseImageBuilt = message<ImageBuiltMsg>('job:image-built', object({ jobId: uuid, image: text(500) }));
export const parseContainerStarted = message<ContainerStartedMsg>('job:container-started', object({ jobId: uuid, containerId: text(200), hostPort }));
export const parseJobSucceeded = message<JobSucceededMsg>('job:succeeded', object({ jobId: uuid, containerId: text(200), hostPort }));
export const parseJobFailed = message<JobFailedMsg>(
  'job:failed',
  object({ jobId: uuid, reason: text(), logTail: list(text(Infinity, true), MAX_LOG_TAIL_LINES) }),
);

export const jobNotHeld = (jobId: string) => new DomainError(ErrorCode.NotFound, `job ${jobId} is not assigned to this worker`);

/**
 * What the worker holding a job reports (job:started, job:image-built, job:container-started,
 * job:succeeded, job:failed), each a command on the job's deployment stream. Registered as the deploy
 * module's agent messages.
 */
@Injectable()
export class JobResults implements OnModuleInit {
  constructor(
    private readonly stream: DeploymentStream,
    private readonly repo: DeploymentsRepository,
    private readonly store: EventStore,
    private readonly projections: Projections,
    private readonly messages: AgentMessages,
  ) {}

  onModuleInit(): void {
    this.messages.handle('job:started', parseJobStarted, (w, msg) => this.recordJobStarted(w.workerId, msg));
    this.messages.handle('job:image-built', parseImageBuilt, (w, msg) => this.recordImageBuilt(w.workerId, msg));
    this.messages.handle('job:container-started', parseContainerStarted, (w, msg) => this.recordContainerStarted(w.workerId, msg));
    this.messages.handle('job:succeeded', parseJobSucceeded, (w, msg) => this.recordJobSucceeded(w.workerId, msg));
    this.messages.handle('job:failed', parseJobFailed, (w, msg) => this.recordJobFailed(w.workerId, msg));
  }

  async recordJobStarted(workerId: string, msg: JobStartedMsg): Promise<void> {
    await this.fromWorker(workerId, msg.jobId, { type: 'RecordJobStarted', workerId, jobId: msg.jobId, phase: msg.phase, commit: msg.commit });
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

  /**
   * The deployment and worker of a job. A job is pushed straight from its JobAssigned event, so the
   * agent may answer before the read model has the job: on a miss, let the read models catch up with
   * the log and look again.
   */
  async findJob(jobId: string): Promise<{ deploymentId: string; workerId: string | null }> {
    if (!isUuid(jobId)) throw jobNotHeld(jobId);
    let job = await this.repo.findJob(jobId);
    if (!job) {
      await this.projections.waitFor(await this.store.headCursor());
      job = await this.repo.findJob(jobId);
    }
    if (!job) throw jobNotHeld(jobId);
    return job;
  }

  private async fromWorker(workerId: string, jobId: string, command: DeployCommand): Promise<void> {
    const progressOnly = command.type === 'RecordImageBuilt' || command.type === 'RecordContainerStarted';
    const job = await this.findJob(jobId);
    await this.stream.execute(job.deploymentId, command, `worker:${workerId}`, !progressOnly);
  }
}
