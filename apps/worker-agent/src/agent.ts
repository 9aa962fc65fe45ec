/**
 * Wires one agent together: Docker runtime, git, job runner, telemetry and the connection. Containers
 * found on the host at start-up are reported in hello (adopted), never started again.
 */
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { AgentConfig } from '@berth/config';
import { systemClock } from '@berth/core';
import type { AdoptedContainer, ContainersRemoveMsg, RoutesMessage, RoutesReply, WorkerCapacity } from '@berth/contracts';
import type { Logger } from 'pino';
import { AgentConnection } from './connection/agent-connection';
import { WorkerIdentity } from './connection/worker-identity';
import { Git } from './git/git';
import { JobRunner } from './job-runner';
import type { JobMessages, JobReporter } from './jobs/job-reporter';
import { createLocalProxy } from './proxy/local-proxy';
import { DockerRuntime, dockerClient } from './runtimes/docker/docker-runtime';
import type { Runtime, RuntimeContainer } from './runtimes/runtime';
import { AgentTelemetry } from './telemetry/agent-telemetry';
import { ExitReporter } from './telemetry/exit-reporter';

export const AGENT_VERSION = '0.1.0';
/** On shutdown: how long running jobs may finish, then how long queued results may drain. */
const SHUTDOWN_JOB_GRACE_MS = 10_000;
const SHUTDOWN_FLUSH_MS = 3_000;

export interface RunningAgent {
  connection: AgentConnection;
  /** Stats sampling and log shipping, with their counters (dropped log lines). */
  telemetry: AgentTelemetry;
  /** Stops taking jobs, lets running ones finish (bounded), sends what it can, closes. Containers keep running. */
  stop(): Promise<void>;
}

export function toAdopted(containers: RuntimeContainer[]): AdoptedContainer[] {
  return containers.map((c) => ({ appId: c.appId, deploymentId: c.deploymentId, containerId: c.containerId, hostPort: c.hostPort, running: c.running }));
}

/** Checkouts left by an agent that was killed mid-build. */
async function removeStaleCheckouts(workDir: string, log: Logger): Promise<void> {
  const names = await readdir(workDir).catch(() => [] as string[]);
  const stale = names.filter((n) => n.startsWith('build-'));
  await Promise.all(stale.map((n) => rm(path.join(workDir, n), { recursive: true, force: true })));
  if (stale.length > 0) log.info({ removed: stale.length }, 'removed stale build directories');
}

export async function startAgent(config: AgentConfig, logger: Logger, runtime?: Runtime): Promise<RunningAgent> {
  const log = logger.child({ component: 'agent' });
  let rt: Runtime;
  if (runtime) {
    rt = runtime;
  } else {
    const docker = dockerClient(config.dockerHost);
    await docker.ping().catch((err: Error) => {
      throw new Error(`no Docker Engine answers at ${config.dockerHost ?? 'unix:///var/run/docker.sock'}: ${err.message}`);
    });
    rt = new DockerRuntime({ docker, logger, publishAddresses: [config.advertiseIp], logSource: config.logSource });
  }
  await removeStaleCheckouts(config.workDir, log);
  const identity = new WorkerIdentity(config.workDir, config.workerToken);
  let workerId = await identity.load();
  let runner: JobRunner | undefined;
  const capacity: WorkerCapacity = { memoryMb: config.capacityMemoryMb, cpus: config.capacityCpus };
  const telemetry = new AgentTelemetry({
    runtime: rt,
    // Telemetry goes through the connection's outbox: log batches and stats may be dropped when it is full.
    sink: { send: (kind, msg, opts) => connection.send(kind, msg, opts), whenWritable: (): Promise<void> | undefined => connection.whenWritable(), idle: (): boolean => connection.idle },
    clock: systemClock,
    logger: logger.child({ component: 'telemetry' }),
    workDir: config.workDir,
    workerId: () => workerId,
    statsIntervalMs: config.statsIntervalMs ?? 5_000,
  });
  // Exits are never dropped from the outbox: each one counts towards a crash loop.
  const exits = new ExitReporter({ runtime: rt, sink: { send: (kind, msg, opts) => connection.send(kind, msg, opts) }, workDir: config.workDir, logger });
  const proxy = createLocalProxy(config.proxy, logger.child({ component: 'proxy' }));

  /** The app of each job running here: its container's log is followed from the moment it starts, not at the next tick. */
  const jobApps = new Map<string, { appId: string; deploymentId: string }>();
  const reporter: JobReporter = {
    report(event, msg) {
      connection.report(event, msg);
      const jobId = (msg as { jobId: string }).jobId;
      if (event === 'job:container-started') {
        const app = jobApps.get(jobId);
        if (app) telemetry.containerStarted({ containerId: (msg as JobMessages['job:container-started']).containerId, ...app });
      } else if (event === 'job:succeeded' || event === 'job:failed') {
        jobApps.delete(jobId);
      }
    },
  };

  const connection = new AgentConnection({
    url: config.url,
    token: config.workerToken,
    logger,
    outboxMaxBytes: config.logBufferBytes,
    // Before the first reply names this worker, every Berth container on the host is listed.
    hello: async () => ({
      capacity,
      advertiseIp: config.advertiseIp,
      agentVersion: AGENT_VERSION,
      proxy: config.proxy?.kind ?? 'traefik',
      containers: toAdopted(await rt.list(workerId)),
    }),
    onHello: (reply) => {
      if (workerId !== reply.workerId) {
        workerId = reply.workerId;
        void identity.save(reply.workerId).catch((err: unknown) => log.warn({ err }, 'could not remember the worker id'));
      }
      runner ??= new JobRunner({ runtime: rt, git: new Git(config.workDir, logger), reporter, workerId: reply.workerId, healthCheckDeadlineMs: config.healthCheckDeadlineMs, logger });
      // Every tick lists this worker's containers: started and adopted ones are followed and sampled, removed ones forgotten.
      telemetry.start();
      void exits.start(reply.workerId).catch((err: unknown) => log.error({ err }, 'cannot watch container exits'));
    },
    onJob: (job) => {
      if (!runner) return { accepted: false };
      jobApps.set(job.jobId, { appId: job.appId, deploymentId: job.deploymentId });
      const reply = runner.submit(job);
      if (!reply.accepted) jobApps.delete(job.jobId);
      return reply;
    },
    // Messages are taken only after the hello reply created the runner.
    onAppRemove: async ({ appId }) => (runner ? runner.removeApp(appId) : { removed: 0, error: 'the agent has not said hello yet' }),
    heartbeat: async () => {
      const dropped = telemetry.shipper.drops.report();
      return {
        at: systemClock.now().toISOString(),
        capacity,
        runningContainers: workerId ? (await rt.list(workerId)).filter((c) => c.running).length : 0,
        ...(dropped.length > 0 ? { droppedLogLines: dropped } : {}),
      };
    },
    onHeartbeatAck: (msg) => telemetry.shipper.drops.reported(msg.droppedLogLines ?? []),
    onAuthRejected: (message) => log.error({ message }, 'check BERTH_WORKER_TOKEN: the control plane refused it'),
  });
  connection.on('containers:remove', async (msg) => {
    const containers = (msg as ContainersRemoveMsg | undefined)?.containers;
    if (!Array.isArray(containers)) return { removed: 0, error: 'containers:remove needs a containers list' };
    return runner ? runner.removeContainers(containers) : { removed: 0, error: 'the agent has not said hello yet' };
  });
  if (proxy) {
    // The worker's whole route list (after each hello and each change): the local Caddy is made to match it.
    connection.on('routes', async (msg): Promise<RoutesReply> => {
      const routes = (msg as RoutesMessage | undefined)?.routes;
      if (!Array.isArray(routes)) return { applied: false, error: 'routes needs a routes array' };
      await proxy.setRoutes(routes);
      return { applied: true };
    });
  }
  connection.start();
  log.info({ url: config.url, workDir: config.workDir, workerId }, 'agent started');

  return {
    connection,
    telemetry,
    async stop() {
      log.info('stopping: no new jobs');
      const finished = runner ? await runner.stop(SHUTDOWN_JOB_GRACE_MS) : true;
      if (!finished) log.warn('jobs still running at shutdown; the control plane will send them again');
      // Whole log lines read so far go into the outbox, and every log cursor is written.
      await telemetry.stop();
      await exits.stop();
      log.info(telemetry.counters, 'telemetry stopped');
      const flushed = await connection.flush(SHUTDOWN_FLUSH_MS);
      if (!flushed) log.warn({ queued: connection.pendingMessages }, 'closing with unsent messages');
      connection.close();
      await proxy?.stop();
      log.info('stopped; containers keep running');
    },
  };
}
