/**
 * Telemetry on the wire (seed sections 2 and 3): what the agent sends about the containers it runs.
 * Telemetry is not event-sourced: log lines go to `runtime_logs`, stats stay in process memory.
 */

export type LogStream = 'stdout' | 'stderr';

/** One sanitised line (ANSI and NUL removed, valid UTF-8, at most LOG_LINE_MAX_BYTES). */
export interface LogLine {
  /** Per container, from 1, no gaps: (containerId, seq) identifies a line, so a resend is dropped as a duplicate. */
  seq: number;
  /** ISO 8601, when the container wrote it (the runtime's timestamp). */
  ts: string;
  stream: LogStream;
  text: string;
  /** The line was longer than the cap and was cut at a character boundary. */
  truncated: boolean;
}

/** Agent -> control plane `logs:lines`: a batch of one container's lines, in seq order. */
export interface LogLinesMsg {
  containerId: string;
  appId: string;
  deploymentId: string;
  lines: LogLine[];
}

/** One container's sample; counters (net, block I/O) are totals since the container started. */
export interface ContainerStatsSample {
  containerId: string;
  appId: string;
  deploymentId: string;
  /** Percent of one core (200 = two cores busy). */
  cpuPercent: number;
  memoryBytes: number;
  memoryLimitBytes: number;
  netRxBytes: number;
  netTxBytes: number;
  blockReadBytes: number;
  blockWriteBytes: number;
  pids: number;
  restarts: number;
}

/** Agent -> control plane `stats:snapshots`: every app container the agent runs, one message per tick. */
export interface StatsSnapshotsMsg {
  /** ISO 8601. */
  sampledAt: string;
  containers: ContainerStatsSample[];
}

/** What `GET /api/apps/:id/stats` answers and the stats namespaces push (seed 2: misses are live=false). */
export type AppStatsView =
  | { live: false }
  | ({
      live: true;
      /** ISO 8601. */
      sampledAt: string;
    } & StatsMetrics);

/** The measured figures of a sample, without naming its container. */
export type StatsMetrics = Omit<ContainerStatsSample, 'containerId' | 'appId' | 'deploymentId'>;

/** The metrics summed, in the order views list them (for aggregates such as `/api/ws/usage`). */
export const STATS_METRICS = [
  'cpuPercent',
  'memoryBytes',
  'memoryLimitBytes',
  'netRxBytes',
  'netTxBytes',
  'blockReadBytes',
  'blockWriteBytes',
  'pids',
  'restarts',
] as const satisfies readonly (keyof StatsMetrics)[];

export const AGENT_MESSAGE = {
  logLines: 'logs:lines',
  statsSnapshots: 'stats:snapshots',
  /** ContainerExitedMsg: one exit of a container that Berth did not stop. */
  containerExited: 'container:exited',
} as const;
