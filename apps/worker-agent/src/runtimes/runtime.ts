/**
 * The one seam of the agent: everything that builds and runs an app goes through a Runtime.
 * The job runner knows nothing about Docker; the docker adapter knows nothing about jobs.
 */
import type { ContainerStatsSample, LogStream } from '@berth/contracts';

/** What to build: a Dockerfile in a checked-out context, or an image that must already exist. */
export type BuildInput =
  | { type: 'git'; appId: string; contextDir: string; dockerfilePath: string; tag: string }
  | { type: 'image'; image: string };

export interface StartSpec {
  appId: string;
  deploymentId: string;
  jobId: string;
  workerId: string;
  image: string;
  /** The port the app listens on inside its container. */
  port: number;
  env: Record<string, string>;
  memoryMb: number;
  cpus?: number;
  /** The commit the image was built from, kept on the container for adoption after a restart. */
  commit?: string;
}

export interface StartedContainer {
  containerId: string;
  /** Published on 127.0.0.1 (and on the worker's advertise address when that is not loopback). */
  hostPort: number;
}

/** A container Berth started, as found by its labels. */
export interface RuntimeContainer {
  containerId: string;
  appId: string;
  deploymentId: string;
  workerId: string;
  jobId: string;
  hostPort: number;
  image: string;
  commit?: string;
  running: boolean;
  createdAt: Date;
}

export interface ContainerState {
  exists: boolean;
  running: boolean;
  exitCode?: number;
  oomKilled?: boolean;
  /** The runtime's own word for the state (running, exited, restarting, created, …). */
  status: string;
  /** It exited and its restart policy is about to start it again (`running` stays true meanwhile). */
  restarting?: boolean;
  /** Times its restart policy started it again. */
  restarts?: number;
}

/** A container of this worker that stopped on its own: not stopped or removed by Berth. */
export interface ContainerExit {
  containerId: string;
  appId: string;
  deploymentId: string;
  exitCode: number;
  /** When the runtime saw it exit; the same exit seen again has the same time. */
  at: Date;
}

/** Where watching starts: exits after `since` (the runtime's own record of the past), or from now. */
export interface ExitWatchFrom {
  since?: Date;
}

export interface ExitWatcher {
  /** Stops watching; exits already handed over stay handed over. */
  stop(): void;
}

/** Beside contracts' LABELS: the commit a container's image was built from. */
export const COMMIT_LABEL = 'berth.commit';

/** The image repository of an app's builds: berth-app-<appId>, in Docker's alphabet. */
export function imageRepo(appId: string): string {
  return `berth-app-${appId.toLowerCase().replace(/[^a-z0-9._-]/g, '-')}`;
}

/** Image tag of a deployment's build: berth-app-<appId>:<deploymentId>, in Docker's alphabet. */
export function imageTag(appId: string, deploymentId: string): string {
  const tag = deploymentId.replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 128);
  return `${imageRepo(appId)}:${tag}`;
}

export type LogSink = (line: string) => void;

/** A piece of a container's output as the runtime recorded it: not yet split into lines, not sanitised. */
export interface LogChunk {
  stream: LogStream;
  /**
   * When the runtime recorded it: RFC 3339 UTC with up to nanoseconds (Docker's own stamp). Pieces
   * of one long line may share a stamp, and so may two lines written within a clock tick.
   */
  ts: string;
  data: Buffer;
}

/** Where following starts: output stamped at or after `since` (inclusive), or all of it. */
export interface LogFollowFrom {
  since?: string;
}

export type LogFollowEnd = { reason: 'ended' } | { reason: 'stopped' } | { reason: 'error'; error: Error };

export interface LogFollower {
  /** Stops reading; chunks already handed over stay handed over. */
  stop(): void;
  /** Settles once no more chunks come: the container stopped (its output ended), stop(), or a failure. */
  readonly done: Promise<LogFollowEnd>;
}

/**
 * Receives chunks in the order the runtime stored them. A returned promise pauses reading until it
 * settles (the runtime's stream waits; the container does not).
 */
export type LogChunkSink = (chunks: LogChunk[]) => void | Promise<void>;

/** A container to sample, with what the agent knows about it. */
export interface StatsTarget {
  containerId: string;
  appId: string;
  deploymentId: string;
  /** The agent's own restart count; unset: the runtime's. */
  restarts?: number;
}

export interface Runtime {
  /** Builds (or, for an image source, makes sure of) the image and returns its reference. */
  build(input: BuildInput, onLog: LogSink): Promise<string>;
  start(spec: StartSpec): Promise<StartedContainer>;
  /** Stops gracefully (SIGTERM, then SIGKILL after timeoutSec). A missing container is not an error. */
  stop(containerId: string, timeoutSec?: number): Promise<void>;
  /** Removes the container, stopping it if needed. A missing container is not an error. */
  remove(containerId: string): Promise<void>;
  /** The last `tail` lines of the container's output (stdout and stderr). */
  logs(containerId: string, tail: number): Promise<string[]>;
  /** Berth containers on this host; with a workerId, only that worker's. */
  list(workerId?: string): Promise<RuntimeContainer[]>;
  state(containerId: string): Promise<ContainerState>;
  /**
   * Removes the tags of the images built for the app (imageRepo(appId), every tag); an image that
   * another tag still names stays. Resolves to the number of tags removed.
   */
  removeAppImages(appId: string): Promise<number>;
  /**
   * Follows the container's stdout and stderr from `from` until it stops or stop() is called. A slow
   * sink never holds up the container: reading pauses, memory stays bounded.
   */
  followLogs(containerId: string, from: LogFollowFrom, onChunks: LogChunkSink): LogFollower;
  /**
   * One sample per running target (a target that is gone is left out). CPU % is measured between
   * this call and the previous one for the same container; the first sample of a container is 0.
   */
  sampleStats(targets: StatsTarget[]): Promise<ContainerStatsSample[]>;
  /**
   * Calls onExit, in order, for each exit of the worker's containers that Berth did not cause (a stop
   * or removal is not an exit), from `from` on, until stop(). Keeps watching across runtime restarts.
   */
  watchExits(workerId: string, from: ExitWatchFrom, onExit: (exit: ContainerExit) => void): ExitWatcher;
}

/** A runtime failure whose message is fit to show a user as a deployment's reason. */
export class RuntimeError extends Error {
  constructor(
    readonly code: 'build_failed' | 'image_missing' | 'start_failed' | 'port_unavailable' | 'bad_input',
    message: string,
  ) {
    super(message);
    this.name = 'RuntimeError';
  }
}
