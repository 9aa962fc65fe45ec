/**
 * Takes jobs from the control plane and runs them: one at a time per app (a queue per app), a few
 * apps at once, each job once. A job sent again — after a reconnect, or after the agent restarted —
 * is recognised by its jobId (in memory) or by the label on the container it started (on the host).
 * Removing a deleted app takes its turn in the app's queue, after the job running for it.
 */
import { APP_DELETED_REASON } from '@berth/contracts';
import type { AppRemoveReply, ContainersRemoveMsg, ContainersRemoveReply, JobSpec } from '@berth/contracts';
import type { Logger } from 'pino';
import { systemClock, TRAEFIK_PROXY_POLL_MS, TRAEFIK_WORKER_POLL_MS, type Clock } from '@berth/core';
import type { Cloner, DeployContext } from './jobs/deploy-job';
import { runDeployJob } from './jobs/deploy-job';
import type { JobReporter, JobResult } from './jobs/job-reporter';
import type { ProbeResult } from './health-check';
import type { Runtime } from './runtimes/runtime';

/** Jobs of different apps that run at the same time. */
export const MAX_CONCURRENT_JOBS = 2;
/** Results remembered, to answer a job sent again after it finished. */
const REMEMBERED_RESULTS = 1_000;
/** Removed apps remembered, so that a job of theirs sent afterwards does not run. */
const REMEMBERED_REMOVED_APPS = 1_000;

export interface JobRunnerOptions {
  runtime: Runtime;
  git: Cloner;
  reporter: JobReporter;
  workerId: string;
  healthCheckDeadlineMs: number;
  logger: Logger;
  maxConcurrentJobs?: number;
  /** Time for proxies to move off the old container; default PREVIOUS_CONTAINER_DRAIN_MS. */
  previousContainerDrainMs?: number;
  stopTimeoutSec?: number;
  clock?: Clock;
  probe?: (url: string, timeoutMs: number) => Promise<ProbeResult>;
}

/**
 * How long an app's previous container keeps serving after the new one is healthy: longer than the
 * slowest proxy poll (the edge Traefik's 5 s, the worker Traefik's 2 s) plus a margin for the route
 * event to reach the endpoints, so no proxy still points at it when it stops. Caddy is pushed to.
 */
export const PREVIOUS_CONTAINER_DRAIN_MS = Math.max(TRAEFIK_PROXY_POLL_MS, TRAEFIK_WORKER_POLL_MS) + 2_000;

/** A counting semaphore: at most `limit` holders; waiters served in arrival order. */
class Slots {
  private used = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  async acquire(): Promise<void> {
    if (this.used < this.limit) {
      this.used++;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.used--;
  }
}

export class JobRunner {
  private readonly log: Logger;
  private readonly ctx: DeployContext;
  private readonly slots: Slots;
  /** Per app, the tail of its queue. */
  private readonly appQueues = new Map<string, Promise<void>>();
  private readonly inFlight = new Set<string>();
  /** Work started by jobs that outlives them (retiring previous containers). */
  private readonly background = new Set<Promise<void>>();
  private readonly results = new Map<string, JobResult>();
  private readonly removedApps = new Set<string>();
  private accepting = true;

  constructor(options: JobRunnerOptions) {
    this.log = options.logger.child({ component: 'job-runner' });
    this.slots = new Slots(options.maxConcurrentJobs ?? MAX_CONCURRENT_JOBS);
    this.ctx = {
      runtime: options.runtime,
      git: options.git,
      reporter: options.reporter,
      workerId: options.workerId,
      healthCheckDeadlineMs: options.healthCheckDeadlineMs,
      previousContainerDrainMs: options.previousContainerDrainMs ?? PREVIOUS_CONTAINER_DRAIN_MS,
      stopTimeoutSec: options.stopTimeoutSec ?? 10,
      clock: options.clock ?? systemClock,
      logger: this.log,
      probe: options.probe,
      inBackground: (work) => {
        const tracked = work.catch((err: unknown) => this.log.warn({ err }, 'background work failed')).finally(() => this.background.delete(tracked));
        this.background.add(tracked);
      },
    };
  }

  /** The answer to the server's `job` message. Never runs a jobId twice. */
  submit(job: JobSpec): { accepted: boolean } {
    if (!this.accepting) return { accepted: false };
    if (this.inFlight.has(job.jobId)) {
      this.log.info({ jobId: job.jobId }, 'job already queued or running; not starting it again');
      return { accepted: true };
    }
    const done = this.results.get(job.jobId);
    if (done) {
      this.log.info({ jobId: job.jobId }, 'job already finished; reporting its result again');
      this.ctx.reporter.report(done.event, done.msg);
      return { accepted: true };
    }
    this.inFlight.add(job.jobId);
    void this.enqueue(job.appId, () => this.runInSlot(job));
    return { accepted: true };
  }

  /**
   * The answer to `app:remove`: once the app's job in progress (if any) has finished, stops and removes
   * every container of the app on this worker, then the app's images. Its jobs still queued, or sent
   * later, do not run: they fail with APP_DELETED_REASON.
   */
  removeApp(appId: string): Promise<AppRemoveReply> {
    this.removedApps.add(appId);
    if (this.removedApps.size > REMEMBERED_REMOVED_APPS) this.removedApps.delete(this.removedApps.values().next().value as string);
    return this.enqueue(appId, () => this.removeAppNow(appId));
  }

  /**
   * Removes containers the control plane no longer wants (superseded while this worker was away),
   * each after the work queued for its app, so a job in progress keeps its container.
   */
  async removeContainers(containers: ContainersRemoveMsg['containers']): Promise<ContainersRemoveReply> {
    const outcomes = await Promise.allSettled(
      containers.map((c) =>
        this.enqueue(c.appId, async () => {
          await this.ctx.runtime.stop(c.containerId, this.ctx.stopTimeoutSec);
          await this.ctx.runtime.remove(c.containerId);
          this.log.info({ containerId: c.containerId, appId: c.appId, deploymentId: c.deploymentId, reason: c.reason }, 'removed a superseded container');
        }),
      ),
    );
    const failed = outcomes.filter((o) => o.status === 'rejected').length;
    const removed = containers.length - failed;
    return failed === 0 ? { removed } : { removed, error: `${failed} of ${containers.length} containers could not be removed` };
  }

  /** Runs `work` after everything queued for the app so far. */
  private enqueue<T>(appId: string, work: () => Promise<T>): Promise<T> {
    const previous = this.appQueues.get(appId) ?? Promise.resolve();
    const result = previous.then(work);
    const next = result.then(
      () => undefined,
      () => undefined,
    );
    this.appQueues.set(appId, next);
    void next.finally(() => {
      if (this.appQueues.get(appId) === next) this.appQueues.delete(appId);
    });
    return result;
  }

  private async removeAppNow(appId: string): Promise<AppRemoveReply> {
    const containers = (await this.ctx.runtime.list(this.ctx.workerId)).filter((c) => c.appId === appId);
    const outcomes = await Promise.allSettled(
      containers.map(async (c) => {
        await this.ctx.runtime.stop(c.containerId, this.ctx.stopTimeoutSec);
        await this.ctx.runtime.remove(c.containerId);
      }),
    );
    const failed = outcomes.flatMap((o, i) => (o.status === 'rejected' ? [{ containerId: containers[i].containerId, err: o.reason as unknown }] : []));
    for (const f of failed) this.log.warn(f, 'could not remove a container of a deleted app');
    const images = await this.ctx.runtime.removeAppImages(appId).catch((err: unknown) => {
      this.log.warn({ err, appId }, 'could not remove the images of a deleted app');
      return 0;
    });
    const removed = containers.length - failed.length;
    this.log.info({ appId, removed, images }, 'removed a deleted app from this worker');
    return failed.length === 0 ? { removed } : { removed, error: `${failed.length} of the app's containers could not be removed` };
  }

  private async runInSlot(job: JobSpec): Promise<void> {
    if (this.removedApps.has(job.appId)) {
      this.log.info({ jobId: job.jobId, appId: job.appId }, 'not running a job of a removed app');
      const result: JobResult = { event: 'job:failed', msg: { jobId: job.jobId, reason: APP_DELETED_REASON, logTail: [] } };
      this.ctx.reporter.report(result.event, result.msg);
      this.remember(job.jobId, result);
      this.inFlight.delete(job.jobId);
      return;
    }
    await this.slots.acquire();
    try {
      const existing = (await this.ctx.runtime.list(this.ctx.workerId)).find((c) => c.jobId === job.jobId);
      const result = await runDeployJob(job, this.ctx, existing);
      this.remember(job.jobId, result);
    } catch (err) {
      // runDeployJob reports its own failures; this is the runtime being unreachable before it began.
      this.log.error({ err, jobId: job.jobId }, 'job could not run');
      const result: JobResult = { event: 'job:failed', msg: { jobId: job.jobId, reason: `agent error: ${(err as Error).message}`, logTail: [] } };
      this.ctx.reporter.report('job:started', { jobId: job.jobId, phase: job.app.source.type === 'git' ? 'building' : 'starting' });
      this.ctx.reporter.report(result.event, result.msg);
      this.remember(job.jobId, result);
    } finally {
      this.inFlight.delete(job.jobId);
      this.slots.release();
    }
  }

  private remember(jobId: string, result: JobResult): void {
    this.results.set(jobId, result);
    if (this.results.size > REMEMBERED_RESULTS) this.results.delete(this.results.keys().next().value as string);
  }

  /** Jobs queued or running. */
  get pending(): number {
    return this.inFlight.size;
  }

  /** Resolves once every job submitted so far has finished, with the work it left in the background. */
  async idle(): Promise<void> {
    while (this.appQueues.size > 0 || this.background.size > 0) await Promise.all([...this.appQueues.values(), ...this.background]);
  }

  /** Stops taking jobs and waits (up to timeoutMs) for the running ones. Containers keep running. */
  async stop(timeoutMs: number): Promise<boolean> {
    this.accepting = false;
    let timer: ReturnType<Clock['setTimeout']> | undefined;
    const timedOut = new Promise<false>((resolve) => {
      timer = this.ctx.clock.setTimeout(() => resolve(false), timeoutMs);
    });
    const finished = await Promise.race([this.idle().then(() => true as const), timedOut]);
    this.ctx.clock.clearTimeout(timer);
    return finished;
  }
}
