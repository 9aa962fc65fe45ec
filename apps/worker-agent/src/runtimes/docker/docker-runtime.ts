/**
 * The Docker runtime: the agent's one adapter to the Docker Engine (dockerode, option objects only).
 */
import { constants } from 'node:fs';
import { access, readdir } from 'node:fs/promises';
import path from 'node:path';
import Docker from 'dockerode';
import type { Logger } from 'pino';
import type { AgentConfig } from '@berth/config';
import { LABELS } from '@berth/contracts';
import type { ContainerStatsSample } from '@berth/contracts';
import { systemClock } from '@berth/core';
import type { Clock } from '@berth/core';
import { COMMIT_LABEL, RuntimeError, imageRepo } from '../runtime';
import type {
  BuildInput,
  ContainerExit,
  ContainerState,
  ExitWatchFrom,
  ExitWatcher,
  LogChunkSink,
  LogFollowEnd,
  LogFollowFrom,
  LogFollower,
  LogSink,
  Runtime,
  RuntimeContainer,
  StartSpec,
  StartedContainer,
  StatsTarget,
} from '../runtime';
import { watchDockerExits } from './docker-exits';
import { followDockerLogs } from './docker-logs';
import { followJsonFileLogs } from './json-file-logs';
import { DockerStatsSampler } from './docker-stats';
import type { StatsSource } from './docker-stats';
import { BUILDKIT_TRACE_ID, BuildkitProgress } from './buildkit-progress';
import { demuxLogs, followEngineStream, textLines } from './docker-streams';
import { isPortFreeOnAll, PortAllocator } from './port-allocator';

/** Tries at publishing a container when Docker says the host port we picked is taken. */
const PORT_ATTEMPTS = 5;
/**
 * An app that exits with an error is started again by the Engine, which waits 100 ms before the first
 * restart and doubles the wait on each one (up to a minute; back to 100 ms once it stayed up 10 s).
 * Exiting with 0 is a deliberate end and stays ended; `docker stop` (how Berth stops) is never undone.
 */
export const APP_RESTART_POLICY = { Name: 'on-failure' } as const;

export interface DockerRuntimeOptions {
  docker: Docker;
  logger: Logger;
  ports?: PortAllocator;
  /**
   * Addresses app ports are published on besides 127.0.0.1 (where the worker's own proxy and health
   * checks reach them): the worker's advertise address, so an edge proxy on another host reaches
   * verified custom domains' apps over the private network. Never 0.0.0.0.
   */
  publishAddresses?: readonly string[];
  clock?: Clock;
  /** Where stats come from: 'auto' (cgroup files where readable, else the Engine), or one of them only. */
  statsSource?: StatsSource;
  /** Build with BuildKit (default), falling back to the classic builder where the Engine lacks it; false: classic only. */
  buildkit?: boolean;
  /**
   * Where followed logs are read: 'auto' (the container's json-file log where the agent can read it,
   * else the Engine's logs API), or one of them only.
   */
  logSource?: LogSource;
}

export type LogSource = NonNullable<AgentConfig['logSource']>;

/**
 * 127.0.0.1 first, then each other address once. Loopback and the unspecified address add nothing (or
 * would publish on every interface), so they are left out.
 */
export function publishAddresses(extra: readonly string[]): readonly string[] {
  const out = ['127.0.0.1'];
  for (const a of extra) {
    if (a === '0.0.0.0' || a === '::' || a === 'localhost' || a.startsWith('127.') || a === '::1' || out.includes(a)) continue;
    out.push(a);
  }
  return out;
}

/** A dockerode client for a standard DOCKER_HOST value (unset: the local socket). */
export function dockerClient(dockerHost?: string): Docker {
  if (!dockerHost) return new Docker({ socketPath: '/var/run/docker.sock' });
  const u = new URL(dockerHost);
  if (u.protocol === 'unix:') return new Docker({ socketPath: u.pathname });
  if (u.protocol === 'tcp:' || u.protocol === 'http:') return new Docker({ host: u.hostname, port: Number(u.port || 2375), protocol: 'http' });
  if (u.protocol === 'https:') return new Docker({ host: u.hostname, port: Number(u.port || 2376), protocol: 'https' });
  throw new Error(`DOCKER_HOST ${dockerHost} is not supported (use unix://, tcp:// or https://)`);
}

export function containerName(appId: string, jobId: string): string {
  return `berth-${appId}-${jobId}`.replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 200);
}

interface EngineError {
  statusCode?: number;
  json?: { message?: string };
  message?: string;
}

function engineMessage(err: unknown): string {
  const e = err as EngineError;
  return (e?.json?.message ?? e?.message ?? String(err)).trim();
}

function statusOf(err: unknown): number | undefined {
  return (err as EngineError)?.statusCode;
}

function isPortTaken(err: unknown): boolean {
  return /port is already allocated|address already in use/i.test(engineMessage(err));
}

/** The Engine turned down a BuildKit build (a Windows Engine, or one older than API 1.39). */
function isBuildkitRefused(err: unknown): boolean {
  return /buildkit|invalid version|version .*not supported/i.test(engineMessage(err));
}

/** A Dockerfile path inside the context: relative, no way out of it. */
function safeDockerfilePath(p: string): string {
  const normal = path.posix.normalize(p.replace(/\\/g, '/'));
  if (path.posix.isAbsolute(normal) || normal === '..' || normal.startsWith('../')) {
    throw new RuntimeError('bad_input', `dockerfilePath "${p}" must be a path inside the repository`);
  }
  return normal;
}

export class DockerRuntime implements Runtime {
  private readonly docker: Docker;
  private readonly log: Logger;
  private readonly ports: PortAllocator;
  private readonly publishOn: readonly string[];
  private readonly stats: DockerStatsSampler;
  private readonly clock: Clock;
  /** Builds with BuildKit until the Engine refuses it once. */
  private buildkit: boolean;
  private readonly logSource: LogSource;

  constructor(options: DockerRuntimeOptions) {
    this.docker = options.docker;
    this.log = options.logger.child({ component: 'docker-runtime' });
    this.publishOn = publishAddresses(options.publishAddresses ?? []);
    this.ports = options.ports ?? new PortAllocator(undefined, isPortFreeOnAll(this.publishOn));
    this.clock = options.clock ?? systemClock;
    this.buildkit = options.buildkit ?? true;
    this.logSource = options.logSource ?? 'auto';
    this.stats = new DockerStatsSampler({ docker: this.docker, clock: this.clock, source: options.statsSource });
  }

  watchExits(workerId: string, from: ExitWatchFrom, onExit: (exit: ContainerExit) => void): ExitWatcher {
    return watchDockerExits({ docker: this.docker, clock: this.clock, logger: this.log }, workerId, from, (exit) => {
      // Its restart policy starts it again: its restart count and process change.
      this.stats.forget(exit.containerId);
      onExit(exit);
    });
  }

  followLogs(containerId: string, from: LogFollowFrom, onChunks: LogChunkSink): LogFollower {
    if (this.logSource === 'engine') return followDockerLogs(this.docker, containerId, from, onChunks);
    let stopped = false;
    let follower: LogFollower | undefined;
    const abort = new AbortController();
    const start = async (): Promise<LogFollower> => {
      const container = this.docker.getContainer(containerId);
      const info = await container.inspect();
      const log = info.HostConfig?.LogConfig;
      const logPath = info.LogPath;
      const readable = log?.Type === 'json-file' && log.Config?.compress !== 'true' && !!logPath && (await access(logPath, constants.R_OK).then(() => true, () => false));
      this.log.debug({ containerId, logPath, driver: log?.Type, readable }, readable ? 'following the json-file log' : 'following the log through the Engine');
      if (!readable) {
        if (this.logSource === 'file') throw new Error(`the json-file log of container ${containerId} is not readable here`);
        return followDockerLogs(this.docker, containerId, from, onChunks);
      }
      // Settles when the container is not running (or is gone): the file is then read to its end.
      const exited = container.wait({ condition: 'not-running', abortSignal: abort.signal } as Docker.ContainerWaitOptions);
      return followJsonFileLogs(logPath, from, onChunks, { clock: this.clock, exited });
    };
    const done = start().then(
      (f) => {
        follower = f;
        if (stopped) f.stop();
        return f.done;
      },
      (err: unknown): LogFollowEnd => (stopped ? { reason: 'stopped' } : { reason: 'error', error: err as Error }),
    );
    void done.finally(() => abort.abort());
    return {
      stop() {
        stopped = true;
        follower?.stop();
      },
      done,
    };
  }

  sampleStats(targets: StatsTarget[]): Promise<ContainerStatsSample[]> {
    return this.stats.sample(targets);
  }

  async build(input: BuildInput, onLog: LogSink): Promise<string> {
    if (input.type === 'image') return this.ensureImage(input.image, onLog);
    const dockerfile = safeDockerfilePath(input.dockerfilePath);
    // The context is the checkout without its .git directory; .dockerignore is honoured by dockerode.
    const entries = (await readdir(input.contextDir)).filter((name) => name !== '.git');
    let stream: NodeJS.ReadableStream;
    try {
      stream = await this.startBuild(input.contextDir, entries, input.tag, dockerfile, this.buildkit);
    } catch (err) {
      if (!this.buildkit || !isBuildkitRefused(err)) throw new RuntimeError('build_failed', `build failed: ${engineMessage(err)}`);
      this.log.warn({ err: engineMessage(err) }, 'the Engine does not build with BuildKit; using its classic builder from now on');
      this.buildkit = false;
      try {
        stream = await this.startBuild(input.contextDir, entries, input.tag, dockerfile, false);
      } catch (again) {
        throw new RuntimeError('build_failed', `build failed: ${engineMessage(again)}`);
      }
    }
    const progress = new BuildkitProgress();
    const failure = await followEngineStream(stream, (event) => {
      if (event.id === BUILDKIT_TRACE_ID && typeof event.aux === 'string') for (const line of progress.lines(event.aux)) onLog(line);
      else if (event.stream) for (const line of textLines(event.stream)) onLog(line);
      else if (event.status) onLog(event.id ? `${event.id}: ${event.status}` : event.status);
    }).catch((err: unknown) => `build stream broke: ${engineMessage(err)}`);
    if (failure !== undefined) {
      onLog(failure);
      throw new RuntimeError('build_failed', `build failed: ${failure.trim()}`);
    }
    this.log.info({ tag: input.tag }, 'image built');
    return input.tag;
  }

  /**
   * BuildKit (the Engine's build API version 2) where the Engine has it: it neither creates nor commits
   * a container for each step, which halves a small app's build. The classic builder otherwise.
   */
  private startBuild(contextDir: string, src: string[], tag: string, dockerfile: string, buildkit: boolean): Promise<NodeJS.ReadableStream> {
    return this.docker.buildImage(
      { context: contextDir, src },
      // No build-time labels: the classic builder turns them into an extra LABEL step (an intermediate
      // container per build). The tag berth-app-<appId>:<deploymentId> already names the app.
      { t: tag, dockerfile, rm: true, forcerm: true, ...(buildkit ? { version: '2' as const } : {}) },
    );
  }

  private async ensureImage(image: string, onLog: LogSink): Promise<string> {
    try {
      await this.docker.getImage(image).inspect();
      onLog(`image ${image} is present`);
      return image;
    } catch (err) {
      if (statusOf(err) !== 404) throw new RuntimeError('image_missing', `cannot inspect image ${image}: ${engineMessage(err)}`);
    }
    onLog(`image ${image} is not present; pulling`);
    let failure: string | undefined;
    try {
      const stream = await this.docker.pull(image);
      failure = await followEngineStream(stream, (event) => {
        if (event.status) onLog(event.id ? `${event.id}: ${event.status}` : event.status);
      });
    } catch (err) {
      failure = engineMessage(err);
    }
    if (failure !== undefined) throw new RuntimeError('image_missing', `image ${image} is not present on worker and cannot be pulled: ${failure}`);
    return image;
  }

  async start(spec: StartSpec): Promise<StartedContainer> {
    const taken = new Set((await this.list()).map((c) => c.hostPort));
    let lastError = '';
    for (let attempt = 1; attempt <= PORT_ATTEMPTS; attempt++) {
      const hostPort = await this.ports.allocate(taken);
      try {
        const containerId = await this.createAndStart(spec, hostPort);
        this.log.info({ appId: spec.appId, deploymentId: spec.deploymentId, containerId, hostPort }, 'container started');
        return { containerId, hostPort };
      } catch (err) {
        if (!isPortTaken(err)) throw err;
        lastError = engineMessage(err);
        taken.add(hostPort);
        this.log.warn({ hostPort, attempt }, 'host port taken, trying another');
      } finally {
        this.ports.release(hostPort);
      }
    }
    throw new RuntimeError('port_unavailable', `could not publish port ${spec.port}: ${lastError}`);
  }

  private async createAndStart(spec: StartSpec, hostPort: number): Promise<string> {
    const env = Object.entries(spec.env)
      .filter(([k]) => k !== 'PORT')
      .map(([k, v]) => `${k}=${v}`);
    const portKey = `${spec.port}/tcp`;
    let container: Docker.Container;
    try {
      container = await this.docker.createContainer({
        name: containerName(spec.appId, spec.jobId),
        Image: spec.image,
        Env: [...env, `PORT=${spec.port}`],
        ExposedPorts: { [portKey]: {} },
        Labels: {
          [LABELS.app]: spec.appId,
          [LABELS.deployment]: spec.deploymentId,
          [LABELS.worker]: spec.workerId,
          [LABELS.job]: spec.jobId,
          [LABELS.port]: String(hostPort),
          ...(spec.commit ? { [COMMIT_LABEL]: spec.commit } : {}),
        },
        HostConfig: {
          Memory: spec.memoryMb * 1024 * 1024,
          ...(spec.cpus ? { NanoCpus: Math.round(spec.cpus * 1e9) } : {}),
          RestartPolicy: APP_RESTART_POLICY,
          // A tiny init as PID 1 forwards SIGTERM to the app, so a stop is graceful instead of
          // waiting out the grace period for apps that do not handle signals as PID 1.
          Init: true,
          PortBindings: { [portKey]: this.publishOn.map((HostIp) => ({ HostIp, HostPort: String(hostPort) })) },
          LogConfig: { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '3' } },
        },
      });
    } catch (err) {
      if (statusOf(err) === 404) throw new RuntimeError('image_missing', `image ${spec.image} is not present on worker`);
      throw new RuntimeError('start_failed', `cannot create container: ${engineMessage(err)}`);
    }
    try {
      await container.start();
      return container.id;
    } catch (err) {
      await container.remove({ force: true, v: true }).catch(() => undefined);
      if (isPortTaken(err)) throw err;
      throw new RuntimeError('start_failed', `cannot start container: ${engineMessage(err)}`);
    }
  }

  async stop(containerId: string, timeoutSec = 10): Promise<void> {
    try {
      await this.docker.getContainer(containerId).stop({ t: timeoutSec });
    } catch (err) {
      // 304: already stopped; 404: already gone.
      if (statusOf(err) !== 304 && statusOf(err) !== 404) throw err;
    }
  }

  async remove(containerId: string): Promise<void> {
    try {
      await this.docker.getContainer(containerId).remove({ force: true, v: true });
    } catch (err) {
      // 404: gone; 409: removal already in progress.
      if (statusOf(err) !== 404 && statusOf(err) !== 409) throw err;
    }
  }

  async logs(containerId: string, tail: number): Promise<string[]> {
    try {
      const buf = await this.docker.getContainer(containerId).logs({ stdout: true, stderr: true, tail, follow: false });
      return demuxLogs(Buffer.isBuffer(buf) ? buf : Buffer.from(String(buf))).slice(-tail);
    } catch (err) {
      if (statusOf(err) === 404) return [];
      throw err;
    }
  }

  async list(workerId?: string): Promise<RuntimeContainer[]> {
    const label = workerId ? [LABELS.app, `${LABELS.worker}=${workerId}`] : [LABELS.app];
    const found = await this.docker.listContainers({ all: true, filters: { label } });
    return found.map((c) => {
      const labels = c.Labels ?? {};
      const published = c.Ports?.find((p) => p.IP === '127.0.0.1' && p.PublicPort)?.PublicPort;
      return {
        containerId: c.Id,
        appId: labels[LABELS.app] ?? '',
        deploymentId: labels[LABELS.deployment] ?? '',
        workerId: labels[LABELS.worker] ?? '',
        jobId: labels[LABELS.job] ?? '',
        hostPort: Number(labels[LABELS.port] ?? published ?? 0),
        image: c.Image,
        commit: labels[COMMIT_LABEL],
        running: c.State === 'running',
        createdAt: new Date(c.Created * 1000),
      };
    });
  }

  async removeAppImages(appId: string): Promise<number> {
    const repo = imageRepo(appId);
    const images = await this.docker.listImages({ filters: { reference: [repo] } });
    const tags = images.flatMap((i) => (i.RepoTags ?? []).filter((t) => t.startsWith(`${repo}:`)));
    let removed = 0;
    for (const tag of tags) {
      try {
        // By tag, never by id: another app's build of the same content shares the image id.
        await this.docker.getImage(tag).remove();
        removed++;
      } catch (err) {
        if (statusOf(err) !== 404) this.log.warn({ tag, err: engineMessage(err) }, 'could not remove an image of a deleted app');
      }
    }
    if (removed > 0) this.log.info({ appId, removed }, 'removed the images of an app');
    return removed;
  }

  async state(containerId: string): Promise<ContainerState> {
    try {
      const info = await this.docker.getContainer(containerId).inspect();
      const { Running, Restarting, ExitCode, OOMKilled, Status } = info.State;
      return { exists: true, running: Running, restarting: Restarting, restarts: info.RestartCount ?? 0, exitCode: ExitCode, oomKilled: OOMKilled, status: Status };
    } catch (err) {
      if (statusOf(err) === 404) return { exists: false, running: false, status: 'missing' };
      throw err;
    }
  }
}
