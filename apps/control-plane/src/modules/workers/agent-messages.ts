/**
 * Checks for every message an agent sends on `/agent`. A bad payload is refused with 400 before anything
 * is appended. Unknown fields are ignored (an older control plane keeps working with a newer agent);
 * the result holds only the fields the protocol names.
 */
import type {
  AgentHello,
  AgentToServer,
  ContainerStartedMsg,
  HeartbeatMsg,
  ImageBuiltMsg,
  JobFailedMsg,
  JobLogMsg,
  JobStartedMsg,
  JobSucceededMsg,
  WorkerCapacity,
} from '@berth/contracts';
import { isIP } from 'node:net';
import { DomainError, ErrorCode } from '../../common/errors';

/** Most log lines one `job:log` message (or a failure's log tail) may carry. */
export const MAX_LOG_LINES_PER_MESSAGE = 10_000;
/** Names, ids and reasons; log lines have no limit here (the deploy service caps them, seed: 8 KiB). */
const MAX_TEXT = 64 * 1024;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

type Check<T> = (value: unknown, path: string) => T;

const bad = (path: string, what: string) => new DomainError(ErrorCode.InvalidInput, `${path} ${what}`);

const text =
  (max = MAX_TEXT, allowEmpty = false): Check<string> =>
  (v, path) => {
    if (typeof v !== 'string') throw bad(path, 'must be a string');
    if (!allowEmpty && v.length === 0) throw bad(path, 'must not be empty');
    if (v.length > max) throw bad(path, `must be at most ${max} characters`);
    return v;
  };
const uuid: Check<string> = (v, path) => {
  if (typeof v !== 'string' || !UUID.test(v)) throw bad(path, 'must be a UUID');
  return v;
};
const int =
  (min: number, max: number): Check<number> =>
  (v, path) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw bad(path, `must be a whole number from ${min} to ${max}`);
    return v;
  };
const positive: Check<number> = (v, path) => {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw bad(path, 'must be a number above 0');
  return v;
};
const bool: Check<boolean> = (v, path) => {
  if (typeof v !== 'boolean') throw bad(path, 'must be true or false');
  return v;
};
const isoDate: Check<string> = (v, path) => {
  if (typeof v !== 'string' || !/^\d{4}-\d\d-\d\dT/.test(v) || Number.isNaN(Date.parse(v))) throw bad(path, 'must be an ISO 8601 date-time');
  return v;
};
const ip: Check<string> = (v, path) => {
  if (typeof v !== 'string' || isIP(v) === 0) throw bad(path, 'must be an IPv4 or IPv6 address');
  return v;
};
const oneOf =
  <T extends string>(...values: T[]): Check<T> =>
  (v, path) => {
    if (!values.includes(v as T)) throw bad(path, `must be one of ${values.join(', ')}`);
    return v as T;
  };
const list =
  <T>(item: Check<T>, max: number): Check<T[]> =>
  (v, path) => {
    if (!Array.isArray(v)) throw bad(path, 'must be an array');
    if (v.length > max) throw bad(path, `must have at most ${max} items`);
    return v.map((x, i) => item(x, `${path}[${i}]`));
  };
const optional =
  <T>(check: Check<T>): Check<T | undefined> =>
  (v, path) =>
    v === undefined || v === null ? undefined : check(v, path);

type Shape = Record<string, Check<unknown>>;
type Parsed<S extends Shape> = { [K in keyof S]: ReturnType<S[K]> };

function object<S extends Shape>(shape: S): Check<Parsed<S>> {
  return (v, path) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(path, 'must be an object');
    const out: Record<string, unknown> = {};
    for (const [key, check] of Object.entries(shape)) {
      const value = check((v as Record<string, unknown>)[key], path ? `${path}.${key}` : key);
      if (value !== undefined) out[key] = value;
    }
    return out as Parsed<S>;
  };
}

const capacity: Check<WorkerCapacity> = object({ memoryMb: int(1, 16 * 1024 * 1024), cpus: positive });
const jobId = uuid;
const hostPort = int(1, 65_535);

const hello: Check<AgentHello> = object({
  capacity,
  advertiseIp: optional(ip),
  agentVersion: text(100),
  // What the agent found on its host: listed, never refused for an odd entry (a refused hello keeps the worker offline).
  containers: list(object({ appId: text(200), deploymentId: text(200), containerId: text(200), hostPort: int(0, 65_535), running: bool }), 10_000),
});
const heartbeat: Check<HeartbeatMsg> = object({ at: isoDate, capacity, runningContainers: int(0, 1_000_000) });
const jobStarted: Check<JobStartedMsg> = object({ jobId, phase: oneOf('building', 'starting'), commit: optional(text(200)) });
const jobLog: Check<JobLogMsg> = object({
  jobId,
  lines: list(object({ seq: int(0, Number.MAX_SAFE_INTEGER), line: text(Infinity, true), at: isoDate }), MAX_LOG_LINES_PER_MESSAGE),
});
const imageBuilt: Check<ImageBuiltMsg> = object({ jobId, image: text(500) });
const containerStarted: Check<ContainerStartedMsg> = object({ jobId, containerId: text(200), hostPort });
const jobSucceeded: Check<JobSucceededMsg> = object({ jobId, containerId: text(200), hostPort });
const jobFailed: Check<JobFailedMsg> = object({ jobId, reason: text(), logTail: list(text(Infinity, true), MAX_LOG_LINES_PER_MESSAGE) });

type MessageOf<K extends keyof AgentToServer> = Parameters<AgentToServer[K]>[0];

/** One check per agent message; parseAgentMessage throws a 400 DomainError naming the bad field. */
export const agentMessageChecks: { [K in keyof AgentToServer]: Check<MessageOf<K>> } = {
  hello,
  heartbeat,
  'job:started': jobStarted,
  'job:log': jobLog,
  'job:image-built': imageBuilt,
  'job:container-started': containerStarted,
  'job:succeeded': jobSucceeded,
  'job:failed': jobFailed,
};

export function parseAgentMessage<K extends keyof AgentToServer>(event: K, payload: unknown): MessageOf<K> {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    throw new DomainError(ErrorCode.InvalidInput, `the ${event} message must be an object`);
  }
  return agentMessageChecks[event](payload, '');
}
