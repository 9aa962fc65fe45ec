import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { EventOfType, JobSpec } from '@berth/contracts';
import { EventStore, type StoredEvent, type Subscription } from '@berth/event-store';
import { DeployService } from '../deploy/deploy.service';
import { AgentConnections, type AgentSocket } from './agent-connections';
import { WorkersService } from './workers.service';
import { structuredLogger } from '../../common/structured-logger';

/** How long a pushed job waits for the agent's {accepted} before the push is logged as unanswered. */
export const JOB_PUSH_ACK_TIMEOUT_MS = 30_000;

const FEED_EVENTS: ReadonlySet<string> = new Set(['JobAssigned', 'WorkerWentOffline']);

/**
 * Pushes jobs to the agents connected to this replica. The scheduler appends JobAssigned; this
 * subscription (every replica runs one) sends the job to the worker's socket if it is connected here.
 * Fire and forget: an agent that misses a push gets the job again in reply to its next hello.
 *
 * It also heals a race between replicas: when an agent moved to this replica and the replica it left
 * noticed the drop late, that replica's WorkerWentOffline lands after the agent's hello here. A worker
 * still connected here is brought back online.
 */
@Injectable()
export class AgentJobFeed implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('agent-job-feed');
  private subscription?: Subscription;

  constructor(
    private readonly store: EventStore,
    private readonly connections: AgentConnections,
    private readonly deploy: DeployService,
    private readonly workers: WorkersService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const from = await this.store.headCursor();
    this.subscription = this.store.subscribe(from, (events) => this.handle(events), {
      filter: (type) => FEED_EVENTS.has(type),
      logger: structuredLogger(this.logger),
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.subscription?.stop();
  }

  /** Sends the worker every job it holds (after a hello: the agent drops the ones it already has). */
  async sendHeldJobs(socket: AgentSocket): Promise<void> {
    const jobs = await this.deploy.jobsForWorker(socket.data.worker.workerId);
    for (const job of jobs) this.send(socket, job);
  }

  private async handle(events: StoredEvent[]): Promise<void> {
    for (const event of events) {
      try {
        if (event.type === 'JobAssigned') await this.pushAssigned(event as unknown as EventOfType<'JobAssigned'> & StoredEvent);
        else if (event.type === 'WorkerWentOffline') await this.healOffline(event as unknown as EventOfType<'WorkerWentOffline'> & StoredEvent);
      } catch (err) {
        this.logger.warn({ err, eventType: event.type, position: event.position, msg: 'could not act on an event for a connected agent' });
      }
    }
  }

  private async pushAssigned(event: EventOfType<'JobAssigned'> & StoredEvent): Promise<void> {
    const { workerId, jobId, deploymentId } = event.data;
    if (!this.connections.get(workerId)) return;
    const job = await this.deploy.jobSpec(deploymentId, jobId, workerId);
    const socket = this.connections.get(workerId);
    if (job && socket) this.send(socket, job);
  }

  private async healOffline(event: EventOfType<'WorkerWentOffline'> & StoredEvent): Promise<void> {
    const socket = this.connections.get(event.data.workerId);
    const hello = socket?.data.hello;
    if (!socket || !hello || !socket.connected) return;
    this.logger.log({ workerId: event.data.workerId, msg: 'worker marked offline elsewhere but connected here: bringing it back online' });
    await this.workers.bringOnline(event.data.workerId, hello.capacity, hello.advertiseIp);
  }

  private send(socket: AgentSocket, job: JobSpec): void {
    const workerId = socket.data.worker.workerId;
    socket.timeout(JOB_PUSH_ACK_TIMEOUT_MS).emit('job', job, (err: Error | null, reply?: { accepted: boolean }) => {
      if (err) this.logger.warn({ workerId, jobId: job.jobId, msg: 'the agent did not acknowledge a pushed job; it gets it again after its next hello' });
      else if (!reply?.accepted) this.logger.warn({ workerId, jobId: job.jobId, msg: 'the agent refused a pushed job' });
    });
  }
}
