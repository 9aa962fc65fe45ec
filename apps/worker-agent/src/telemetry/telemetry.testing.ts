/** Test doubles at seams we own: an in-memory telemetry sink and a scripted runtime. */
import type { ContainerStatsSample, LogLine, LogLinesMsg } from '@berth/contracts';
import type { LogChunk, LogChunkSink, LogFollowEnd, LogFollowFrom, LogFollower, Runtime, RuntimeContainer, StatsTarget } from '../runtimes/runtime';
import type { SendOptions, TelemetrySink } from './telemetry-sink';

export interface Sent {
  kind: string;
  msg: unknown;
  opts?: SendOptions;
}

/**
 * Keeps every message; drop() plays the outbox dropping one (calls its onDrop). With `autoAck` (the
 * default) every message is acknowledged as it is sent, as by a connected control plane; without it,
 * ack(i) acknowledges one.
 */
export class MemorySink implements TelemetrySink {
  readonly sent: Sent[] = [];
  /** What idle() answers: whether the connection has nothing on its way. */
  isIdle = false;

  constructor(private readonly autoAck = true) {}

  idle(): boolean {
    return this.isIdle;
  }

  send(kind: string, msg: unknown, opts?: SendOptions): void {
    this.sent.push({ kind, msg, opts });
    if (this.autoAck) opts?.onAck?.();
  }

  /** The control plane acknowledges the i-th message sent. */
  ack(i: number): void {
    this.sent[i]!.opts?.onAck?.();
  }

  /** The outbox drops the i-th message sent (it is no longer delivered). */
  drop(i: number): void {
    const s = this.sent[i]!;
    this.sent.splice(i, 1);
    s.opts?.onDrop?.();
  }

  logLines(containerId?: string): LogLine[] {
    return this.sent
      .filter((s) => s.kind === 'logs:lines' && (!containerId || (s.msg as LogLinesMsg).containerId === containerId))
      .flatMap((s) => (s.msg as LogLinesMsg).lines);
  }
}

/** A chunk of output: nanosecond stamps as Docker writes them. */
export function chunk(stream: 'stdout' | 'stderr', nanos: number, data: string | Buffer): LogChunk {
  const whole = Math.floor(nanos / 1e9);
  const ts = `${new Date(Date.UTC(2026, 0, 1) + whole * 1000).toISOString().slice(0, 19)}.${String(nanos % 1e9).padStart(9, '0')}Z`;
  return { stream, ts, data: Buffer.isBuffer(data) ? data : Buffer.from(data) };
}

/** A runtime whose containers' output is a script: followLogs replays it from `since`, then waits for more. */
export class ScriptedRuntime implements Pick<Runtime, 'followLogs' | 'sampleStats' | 'list'> {
  readonly output = new Map<string, LogChunk[]>();
  readonly containers: RuntimeContainer[] = [];
  readonly followers = new Map<string, { from: LogFollowFrom; push(chunks: LogChunk[]): void; end(): void }>();
  samples: (targets: StatsTarget[]) => Promise<ContainerStatsSample[]> = async () => [];

  /** Appends output; live followers get it at once. */
  write(containerId: string, chunks: LogChunk[]): void {
    const all = this.output.get(containerId) ?? [];
    all.push(...chunks);
    this.output.set(containerId, all);
    this.followers.get(containerId)?.push(chunks);
  }

  followLogs(containerId: string, from: LogFollowFrom, onChunks: LogChunkSink): LogFollower {
    let settle!: (end: LogFollowEnd) => void;
    const done = new Promise<LogFollowEnd>((r) => (settle = r));
    let open = true;
    const since = from.since;
    const replay = (this.output.get(containerId) ?? []).filter((c) => !since || c.ts >= since);
    const handle = {
      from,
      push: (chunks: LogChunk[]) => {
        if (open) void onChunks(chunks);
      },
      end: () => {
        open = false;
        this.followers.delete(containerId);
        settle({ reason: 'ended' });
      },
    };
    this.followers.set(containerId, handle);
    if (replay.length > 0) void onChunks(replay);
    return {
      stop: () => {
        if (!open) return;
        open = false;
        this.followers.delete(containerId);
        settle({ reason: 'stopped' });
      },
      done,
    };
  }

  sampleStats(targets: StatsTarget[]): Promise<ContainerStatsSample[]> {
    return this.samples(targets);
  }

  async list(): Promise<RuntimeContainer[]> {
    return [...this.containers];
  }
}

export function runtimeContainer(containerId: string, running = true): RuntimeContainer {
  return { containerId, appId: `app-${containerId}`, deploymentId: `dep-${containerId}`, workerId: 'w1', jobId: 'j', hostPort: 1, image: 'img', running, createdAt: new Date(0) };
}
