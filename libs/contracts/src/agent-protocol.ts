/**
 * The wire between a worker agent and the control plane: socket.io namespace `/agent`,
 * handshake `auth: { token }`. Every agent->server message takes an ack callback answered with
 * AgentAck; the agent resends until it gets one (results are idempotent on the server).
 */
import type { JobSpec } from './events';
import type { ErrorBody } from './errors';
import type { RoutesMessage } from './routes';
import type { WorkerCapacity } from './worker';

export const AGENT_NAMESPACE = '/agent';
/**
 * The largest socket.io message the control plane takes (its maxHttpBufferSize, socket.io's default):
 * a larger one closes the sender's connection, so an agent must never build one.
 */
export const MAX_SOCKET_MESSAGE_BYTES = 1_000_000;
export const HEARTBEAT_INTERVAL_MS = 5_000;

export interface AdoptedContainer {
  appId: string;
  deploymentId: string;
  containerId: string;
  hostPort: number;
  running: boolean;
}

export interface AgentHello {
  capacity: WorkerCapacity;
  advertiseIp?: string;
  agentVersion: string;
  /** The proxy in front of the worker's apps; `caddy` asks the control plane for `routes` messages. */
  proxy?: 'traefik' | 'caddy' | 'none';
  /** Containers found by label at start-up: adopted, not started again. */
  containers: AdoptedContainer[];
}

export interface AgentHelloReply {
  workerId: string;
  name: string;
}

export interface JobStartedMsg { jobId: string; phase: 'building' | 'starting'; commit?: string }
export interface JobLogMsg { jobId: string; lines: { seq: number; line: string; at: string }[] }
export interface ImageBuiltMsg { jobId: string; image: string }
export interface ContainerStartedMsg { jobId: string; containerId: string; hostPort: number }
export interface JobSucceededMsg { jobId: string; containerId: string; hostPort: number }
export interface JobFailedMsg { jobId: string; reason: string; logTail: string[] }
/**
 * A container of a deployment stopped on its own (crashed, exited, killed for memory): not stopped or
 * removed by Berth. `at` is when the runtime saw it exit; the same exit sent again carries the same `at`.
 */
export interface ContainerExitedMsg { deploymentId: string; appId: string; containerId: string; exitCode: number; at: string }
/** Runtime log lines of one app the agent dropped (its buffer was full) and has not reported yet. */
export interface DroppedLogLines { appId: string; lines: number }
export interface HeartbeatMsg {
  at: string;
  capacity: WorkerCapacity;
  runningContainers: number;
  /** Drops since the last acknowledged report, by app (absent: none); the control plane adds them to /metrics. */
  droppedLogLines?: DroppedLogLines[];
}

export type AgentAck<T = unknown> =
  | { ok: true; result?: T }
  | { ok: false; error: ErrorBody };

/** Messages the agent sends (each with an ack). */
export interface AgentToServer {
  hello: (msg: AgentHello, ack: (reply: AgentAck<AgentHelloReply>) => void) => void;
  heartbeat: (msg: HeartbeatMsg, ack: (reply: AgentAck) => void) => void;
  'job:started': (msg: JobStartedMsg, ack: (reply: AgentAck) => void) => void;
  'job:log': (msg: JobLogMsg, ack: (reply: AgentAck) => void) => void;
  'job:image-built': (msg: ImageBuiltMsg, ack: (reply: AgentAck) => void) => void;
  'job:container-started': (msg: ContainerStartedMsg, ack: (reply: AgentAck) => void) => void;
  'job:succeeded': (msg: JobSucceededMsg, ack: (reply: AgentAck) => void) => void;
  'job:failed': (msg: JobFailedMsg, ack: (reply: AgentAck) => void) => void;
  'container:exited': (msg: ContainerExitedMsg, ack: (reply: AgentAck) => void) => void;
}

/** The app was deleted: remove its containers and images from this worker. */
export interface AppRemoveMsg { appId: string }
/** How many of the app's containers the agent removed (0 when none was left); `error` when it could not. */
export interface AppRemoveReply { removed: number; error?: string }

/** Containers of this worker that nothing wants any more (superseded while the worker was away): stop and remove them. */
export interface ContainersRemoveMsg { containers: { containerId: string; appId: string; deploymentId: string; reason: string }[] }
export interface ContainersRemoveReply { removed: number; error?: string }

/**
 * Messages the control plane sends. `job` is acknowledged by the agent with {accepted}; `app:remove`
 * once the app's containers are gone (after any job of that app the agent is running).
 */
export interface ServerToAgent {
  job: (job: JobSpec, ack: (reply: { accepted: boolean }) => void) => void;
  'app:remove': (msg: AppRemoveMsg, ack: (reply: AppRemoveReply) => void) => void;
  'containers:remove': (msg: ContainersRemoveMsg, ack: (reply: ContainersRemoveReply) => void) => void;
  /** The worker's complete routes for its local proxy, after each hello and each change; acked once applied. */
  routes: (msg: RoutesMessage, ack: (reply: RoutesReply) => void) => void;
}

/** `applied: false` with the reason when the agent's proxy could not take the routes (it retries on its own). */
export interface RoutesReply { applied: boolean; error?: string }

/** Container labels every Berth container carries. */
export const LABELS = {
  app: 'berth.app',
  deployment: 'berth.deployment',
  worker: 'berth.worker',
  job: 'berth.job',
  port: 'berth.port',
} as const;
