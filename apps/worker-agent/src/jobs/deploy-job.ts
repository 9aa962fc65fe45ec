/**
 * One deploy, start to finish: clone and build (git) or check the image, start the new container,
 * health-check it, report success, and only then retire the app's previous containers — so the old
 * version serves until the new one is healthy. A failure leaves the old version alone.
 */
import { DEFAULT_APP_MEMORY_MB, DEFAULT_HEALTH_CHECK_PATH } from '@berth/contracts';
import type { JobSpec } from '@berth/contracts';
import type { Logger } from 'pino';
import type { Checkout, CloneRequest } from '../git/git';
import { GitError } from '../git/git';
import type { Clock } from '@berth/core';
import { httpProbe, timeFrom, waitUntilHealthy } from '../health-check';
import type { ProbeResult } from '../health-check';
import { RuntimeError, imageTag } from '../runtimes/runtime';
import type { Runtime, RuntimeContainer } from '../runtimes/runtime';
import type { JobReporter, JobResult } from './job-reporter';
import { LogBatcher } from './log-batcher';

/** Lines of the new container's output a failed deploy reports. */
export const FAILURE_LOG_TAIL_LINES = 50;

export interface Cloner {
  clone(req: CloneRequest, onLog: (line: string) => void): Promise<Checkout>;
}

export interface DeployContext {
  runtime: Runtime;
  git: Cloner;
  reporter: JobReporter;
  workerId: string;
  healthCheckDeadlineMs: number;
  /** Wait between reporting success and stopping the previous containers, so proxies switch first. */
  previousContainerDrainMs: number;
  /** Grace between SIGTERM and SIGKILL when stopping a previous container. */
  stopTimeoutSec: number;
  clock: Clock;
  logger: Logger;
  probe?: (url: string, timeoutMs: number) => Promise<ProbeResult>;
  /**
   * Runs work that must finish but must not hold the job (retiring the previous containers drains and
   * then waits out their stop grace period): the app's next deploy does not queue behind it.
   */
  inBackground(work: Promise<void>): void;
}

function reasonOf(err: unknown): string {
  if (err instanceof RuntimeError || err instanceof GitError) return err.message;
  return `agent error: ${err instanceof Error ? err.message : String(err)}`;
}

/**
 * Runs the job and returns the result it reported. With `adopted`, the container was already
 * started for this job (by an earlier run of the agent): resume at the health check.
 */
export async function runDeployJob(job: JobSpec, ctx: DeployContext, adopted?: RuntimeContainer): Promise<JobResult> {
  const log = ctx.logger.child({ jobId: job.jobId, appId: job.appId, deploymentId: job.deploymentId });
  const logs = new LogBatcher(job.jobId, ctx.reporter, () => ctx.clock.now(), { startSeq: job.logSeqStart ?? 0 });
  const source = job.app.source;
  const phase = source.type === 'git' ? 'building' : 'starting';
  let started = false;
  let container: { containerId: string; hostPort: number } | undefined;

  const reportStarted = (commit?: string) => {
    ctx.reporter.report('job:started', { jobId: job.jobId, phase, ...(commit ? { commit } : {}) });
    started = true;
  };

  try {
    if (adopted) {
      log.info({ containerId: adopted.containerId }, 'adopting the container this job already started');
      reportStarted(adopted.commit);
      ctx.reporter.report('job:image-built', { jobId: job.jobId, image: adopted.image });
      container = { containerId: adopted.containerId, hostPort: adopted.hostPort };
    } else {
      let image: string;
      let commit: string | undefined;
      if (source.type === 'git') {
        const cloneLines: string[] = [];
        let checkout: Checkout;
        try {
          checkout = await ctx.git.clone({ repoUrl: source.repoUrl, branch: source.branch, commit: job.commit, label: job.jobId }, (l) => cloneLines.push(l));
        } catch (err) {
          reportStarted();
          cloneLines.forEach((l) => logs.push(l));
          throw err;
        }
        // job:started waits for the clone so that it carries the commit that will be built.
        commit = checkout.commit;
        reportStarted(commit);
        cloneLines.forEach((l) => logs.push(l));
        try {
          image = await ctx.runtime.build(
            { type: 'git', appId: job.appId, contextDir: checkout.dir, dockerfilePath: source.dockerfilePath ?? 'Dockerfile', tag: imageTag(job.appId, job.deploymentId) },
            (l) => logs.push(l),
          );
        } finally {
          await checkout.remove();
        }
      } else {
        reportStarted();
        image = await ctx.runtime.build({ type: 'image', image: source.image }, (l) => logs.push(l));
      }
      logs.flush();
      ctx.reporter.report('job:image-built', { jobId: job.jobId, image });
      container = await ctx.runtime.start({
        appId: job.appId,
        deploymentId: job.deploymentId,
        jobId: job.jobId,
        workerId: ctx.workerId,
        image,
        port: job.app.port,
        env: job.app.env ?? {},
        memoryMb: job.app.memoryMb ?? DEFAULT_APP_MEMORY_MB,
        cpus: job.app.cpus,
        commit,
      });
    }
    ctx.reporter.report('job:container-started', { jobId: job.jobId, ...container });
    const { containerId } = container;
    const health = await waitUntilHealthy(
      { hostPort: container.hostPort, path: job.app.healthCheckPath ?? DEFAULT_HEALTH_CHECK_PATH, deadlineMs: ctx.healthCheckDeadlineMs },
      { probe: ctx.probe ?? httpProbe, containerState: () => ctx.runtime.state(containerId), ...timeFrom(ctx.clock) },
    );
    if (!health.healthy) throw new RuntimeError('start_failed', health.reason);
    // The result first: messages go out one at a time, each after the previous one's ack, and the route
    // moves to the new container only once the control plane has recorded the result.
    const result: JobResult = { event: 'job:succeeded', msg: { jobId: job.jobId, ...container } };
    ctx.reporter.report(result.event, result.msg);
    logs.push(`healthy after ${health.attempts} tries (${health.elapsedMs} ms, HTTP ${health.status})`);
    logs.flush();
    log.info({ containerId, hostPort: container.hostPort }, 'deploy succeeded');
    ctx.inBackground(retirePreviousContainers(job, containerId, ctx, log));
    return result;
  } catch (err) {
    const reason = reasonOf(err);
    if (!(err instanceof RuntimeError || err instanceof GitError)) log.error({ err }, 'job failed unexpectedly');
    let logTail = logs.tail();
    if (container) {
      logTail = await ctx.runtime.logs(container.containerId, FAILURE_LOG_TAIL_LINES).catch(() => logTail);
      await ctx.runtime.remove(container.containerId).catch((e: unknown) => log.warn({ err: e }, 'could not remove the failed container'));
    }
    if (!started) reportStarted();
    logs.push(`deploy failed: ${reason}`);
    logs.flush();
    const result: JobResult = { event: 'job:failed', msg: { jobId: job.jobId, reason, logTail } };
    ctx.reporter.report(result.event, result.msg);
    log.warn({ reason }, 'deploy failed');
    return result;
  }
}

/** Stops and removes this app's other containers on this worker, after the new one is healthy. */
async function retirePreviousContainers(job: JobSpec, keep: string, ctx: DeployContext, log: Logger): Promise<void> {
  const previous = (await ctx.runtime.list(ctx.workerId)).filter((c) => c.appId === job.appId && c.containerId !== keep);
  if (previous.length === 0) return;
  if (ctx.previousContainerDrainMs > 0) await ctx.clock.sleep(ctx.previousContainerDrainMs);
  for (const c of previous) {
    try {
      await ctx.runtime.stop(c.containerId, ctx.stopTimeoutSec);
      await ctx.runtime.remove(c.containerId);
      log.info({ containerId: c.containerId, deploymentId: c.deploymentId }, 'previous container retired');
    } catch (err) {
      log.warn({ err, containerId: c.containerId }, 'could not retire previous container');
    }
  }
}
