/**
 * Container exits from the Docker Engine's event stream, filtered to one worker's containers by label.
 * A `die` that follows a `kill` (since the container last started) was asked for — `docker stop` and
 * `docker rm -f` both kill first, which is how Berth stops and removes — so only the others are exits:
 * a crash, an exit of the app's own, an out-of-memory kill. The stream is followed again when it ends
 * (the Engine restarted, the connection broke), from the last event seen; the Engine replays its recent
 * events from `since`, so exits while the agent was down are found on start.
 */
import type Docker from 'dockerode';
import type { Logger } from 'pino';
import { LABELS } from '@berth/contracts';
import type { Clock } from '@berth/core';
import type { ContainerExit, ExitWatchFrom, ExitWatcher } from '../runtime';
import { followEngineStream } from './docker-streams';

/**
 * How far before `since` the events are read again, for the kills that explain the dies after it: more
 * than the longest stop grace period (SIGTERM, then SIGKILL 10 s later).
 */
export const KILL_REPLAY_MARGIN_MS = 30_000;
/** Wait before following the stream again after it ended, doubling up to the maximum. */
const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 10_000;

/** The fields of an Engine event this reads. */
export interface EngineEvent {
  Type?: string;
  Action?: string;
  id?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
  time?: number;
  timeNano?: number;
}

/**
 * Pure: turns the Engine's container events into the exits Berth did not cause, each once, in order.
 * Events at or before one already taken (a stream followed again from its last event) are passed over.
 */
export class ExitTracker {
  /** Containers killed since they last started: their next die was asked for. */
  private readonly killed = new Set<string>();
  private lastNano = -1;
  private readonly seenAtLast = new Set<string>();

  /** @param reportFrom exits before this time (ms) only update what is known; they were reported before. */
  constructor(private readonly reportFrom = -Infinity) {}

  take(event: EngineEvent): ContainerExit | undefined {
    const containerId = event.Actor?.ID ?? event.id;
    const nano = event.timeNano ?? (event.time ?? 0) * 1e9;
    if (event.Type !== 'container' || !containerId || !event.Action) return undefined;
    const key = `${containerId}:${event.Action}`;
    if (nano < this.lastNano || (nano === this.lastNano && this.seenAtLast.has(key))) return undefined;
    if (nano > this.lastNano) {
      this.lastNano = nano;
      this.seenAtLast.clear();
    }
    this.seenAtLast.add(key);
    switch (event.Action) {
      case 'start':
      case 'destroy':
        this.killed.delete(containerId);
        return undefined;
      case 'kill':
        // Whatever the signal: `docker stop` sends the image's STOPSIGNAL (nginx: SIGQUIT), not always SIGTERM.
        this.killed.add(containerId);
        return undefined;
      case 'die': {
        if (this.killed.delete(containerId)) return undefined;
        const attrs = event.Actor?.Attributes ?? {};
        const appId = attrs[LABELS.app];
        const deploymentId = attrs[LABELS.deployment];
        const exitCode = Number(attrs.exitCode);
        // timeNano is past 2^53: JSON gives it to within a few hundred ns, the same way every time it is read.
        const at = new Date(Math.round(nano / 1e6));
        if (!appId || !deploymentId || !Number.isInteger(exitCode) || at.getTime() < this.reportFrom) return undefined;
        return { containerId, appId, deploymentId, exitCode, at };
      }
      default:
        return undefined;
    }
  }

  /** The time (ms) of the last event taken: where following the stream again starts. */
  get lastSeenMs(): number | undefined {
    return this.lastNano < 0 ? undefined : Math.floor(this.lastNano / 1e6);
  }
}

/** The Engine's `since`: seconds since the epoch, with a fraction. */
function engineTime(ms: number): number {
  return Math.floor(ms) / 1000;
}

export interface DockerExitsOptions {
  docker: Docker;
  clock: Clock;
  logger: Logger;
}

/** Follows the worker's container events until stop(), handing each exit to onExit. */
export function watchDockerExits(options: DockerExitsOptions, workerId: string, from: ExitWatchFrom, onExit: (exit: ContainerExit) => void): ExitWatcher {
  const { docker, clock } = options;
  const log = options.logger.child({ component: 'docker-exits' });
  const startedAt = clock.now().getTime();
  const reportFrom = from.since?.getTime() ?? startedAt;
  const tracker = new ExitTracker(reportFrom);
  let stopped = false;
  let current: NodeJS.ReadableStream | undefined;
  let failures = 0;

  const follow = async () => {
    while (!stopped) {
      const since = tracker.lastSeenMs ?? reportFrom - KILL_REPLAY_MARGIN_MS;
      try {
        const stream = (await docker.getEvents({
          since: engineTime(since),
          filters: { type: ['container'], event: ['start', 'kill', 'die', 'destroy'], label: [`${LABELS.worker}=${workerId}`] },
        })) as NodeJS.ReadableStream;
        if (stopped) {
          destroy(stream);
          return;
        }
        current = stream;
        failures = 0;
        await followEngineStream(stream, (event) => {
          const exit = tracker.take(event as unknown as EngineEvent);
          if (exit && !stopped) onExit(exit);
        });
        if (!stopped) log.warn('the Engine ended its event stream; following it again');
      } catch (err) {
        if (!stopped) log.warn({ err: (err as Error).message }, 'cannot follow the Engine events; trying again');
      }
      current = undefined;
      if (!stopped) await clock.sleep(Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** Math.min(failures++, 10)));
    }
  };
  void follow();
  return {
    stop() {
      stopped = true;
      if (current) destroy(current);
    },
  };
}

function destroy(stream: NodeJS.ReadableStream): void {
  (stream as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
}
