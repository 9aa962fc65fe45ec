import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import type { EventOfType, JobSpec } from '@berth/contracts';
import type { StoredEvent } from '@berth/event-store';
import { Reactions } from '../../common/reactions.service';
import { AgentConnections, type AgentSocket } from '../workers/agent-connections';
import { AgentMessages } from '../workers/agent-messages.registry';
import { DeployService } from './deploy.service';

/** How long a pushed job waits for the agent's {accepted} before the push is logged as unanswered. */
export const JOB_PUSH_ACK_TIMEOUT_MS = 30_000;

/**
 * Pushes jobs to the agents connected to this replica. The scheduler appends JobAssigned; this
 * reaction (every replica runs it, for its own agents) sends the job to the worker's socket if it is
 * connected here. Fire and forget: an agent that misses a push gets the job again after its next hello.
 */
@Injectable()
export class AgentJobFeed implements OnModuleInit {
  private readonly logger = new Logger('agent-job-feed');

  constructor(
    private readonly reactions: Reactions,
    private readonly connections: AgentConnections,
    private readonly deploy: DeployService,
    private readonly messages: AgentMessages,
  ) {}

  onModuleInit(): void {
    this.messages.afterHello((socket) => this.sendHeldJobs(socket));
    this.reactions.everyReplica({
      name: 'agent-job-feed',
      handles: ['JobAssigned'],
      handle: (event) => this.pushAssigned(event as unknown as EventOfType<'JobAssigned'> & StoredEvent),
    });
  }

  /** Sends the worker every job it holds (after a hello: the agent drops the ones it already has). */
  async sendHeldJobs(socket: AgentSocket): Promise<void> {
    const jobs = await this.deploy.jobsForWorker(socket.data.worker.workerId);
    for (const job of jobs) this.send(socket, job);
  }

  private async pushAssigned(event: EventOfType<'JobAssigned'> & StoredEvent): Promise<void> {
    const { workerId, jobId, deploymentId } = event.data;
    if (!this.connections.get(workerId)) return;
    const job = await this.deploy.jobSpec(deploymentId, jobId, workerId);
    const socket = this.connections.get(workerId);
    if (job && socket) this.send(socket, job);
  }

  private send(socket: AgentSocket, job: JobSpec): void {
    const workerId = socket.data.worker.workerId;
    socket.timeout(JOB_PUSH_ACK_TIMEOUT_MS).emit('job', job, (err: Error | null, reply?: { accepted: boolean }) => {
      if (err) this.logger.warn({ workerId, jobId: job.jobId, msg: 'the agent did not acknowledge a pushed job; it gets it again after its next hello' });
      else if (!reply?.accepted) this.logger.warn({ workerId, jobId: job.jobId, msg: 'the agent refused a pushed job' });
    });
  }
}
