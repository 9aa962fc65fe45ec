/**
 * One container's runtime log on its way out (seed 3): raw output chunks in, sanitised lines
 * numbered from 1 without gaps out, in `logs:lines` batches flushed by size or after a short delay.
 * After each batch it moves a cursor the agent persists, so a restarted agent resumes exactly there;
 * batches the outbox had to drop are counted and leave a marker line in the log itself.
 */
import { AGENT_MESSAGE } from '@berth/contracts';
import type { LogLine, LogLinesMsg, LogStream } from '@berth/contracts';
import { LogLineSplitter } from '@berth/core';
import type { Clock, TimerHandle } from '@berth/core';
import { timestampNanos } from '../runtimes/docker/docker-logs';
import type { LogChunk } from '../runtimes/runtime';
import type { LogCursor } from './log-cursor-store';
import type { TelemetrySink } from './telemetry-sink';

export interface ContainerLogOptions {
  /** A batch is sent once it holds this many bytes of text… */
  maxBatchBytes: number;
  /** …or this many lines… */
  maxBatchLines: number;
  /** …or when its oldest line has waited this long. */
  flushDelayMs: number;
  /** After a batch that carried only a gap marker was dropped, wait this long before sending the marker again. */
  markerRetryMs: number;
}

export const DEFAULT_CONTAINER_LOG_OPTIONS: ContainerLogOptions = { maxBatchBytes: 256 * 1024, maxBatchLines: 1000, flushDelayMs: 250, markerRetryMs: 5_000 };

export interface ContainerRef {
  containerId: string;
  appId: string;
  deploymentId: string;
}

export interface DropCounters {
  droppedLines: number;
  droppedBatches: number;
}

export interface ContainerLogDeps {
  sink: TelemetrySink;
  clock: Clock;
  /**
   * Called with the point everything before which the control plane has taken (acknowledged, or
   * dropped and marked): a resumed agent reads on from there, so a crash never loses an unsent line.
   */
  onCursor: (cursor: LogCursor) => void;
  /** Shared by every container of the agent. */
  counters: DropCounters;
  onDrop?: (container: ContainerRef, lines: number) => void;
}

interface Gap {
  lines: number;
  firstSeq: number;
  lastSeq: number;
  /** Stamp of the newest line lost, where the marker goes in time order. */
  ts: string;
}

export function gapMarkerText(gap: Gap): string {
  const which = gap.firstSeq === gap.lastSeq ? `line ${gap.firstSeq}` : `lines ${gap.firstSeq}-${gap.lastSeq}`;
  return `[berth] ${gap.lines} log line${gap.lines === 1 ? ' was' : 's were'} dropped here (${which}): the control plane was unreachable and the agent's buffer (BERTH_LOG_BUFFER_BYTES) was full`;
}

export class ContainerLog {
  /** Batches sent and not yet acknowledged (or dropped), oldest first, each with the cursor it completes. */
  private readonly unacked: { cursor?: LogCursor; done: boolean }[] = [];
  private seq: number;
  private readonly splitters: Record<LogStream, LogLineSplitter> = { stdout: new LogLineSplitter(), stderr: new LogLineSplitter() };
  private pending: LogLine[] = [];
  private pendingBytes = 0;
  private timer: TimerHandle | undefined;
  /** Where the runtime's output is: the last chunk's stamp and how many chunks carried it. */
  private position: { ts: string; nanos: bigint; count: number } | undefined;
  /** Replayed output to pass over after a restart: chunks up to the stored cursor. */
  private skip: { nanos: bigint; count: number } | undefined;
  /** The newest point where no stream had half a line: what the persisted cursor may say. */
  private clean: LogCursor | undefined;
  private lastSaved: LogCursor | undefined;
  private gap: Gap | undefined;
  /** Marker lines sent, with the gap each one told of (a dropped marker's gap joins the next one). */
  private readonly markers = new WeakMap<LogLine, Gap>();
  private readonly options: ContainerLogOptions;

  constructor(
    readonly ref: ContainerRef,
    from: LogCursor | undefined,
    private readonly deps: ContainerLogDeps,
    options: Partial<ContainerLogOptions> = {},
  ) {
    this.options = { ...DEFAULT_CONTAINER_LOG_OPTIONS, ...options };
    this.seq = from?.seq ?? 0;
    if (from) {
      const nanos = timestampNanos(from.ts);
      this.skip = { nanos, count: from.atTs };
      this.position = { ts: from.ts, nanos, count: 0 };
      this.clean = this.lastSaved = from;
    }
  }

  /** The last seq handed out. */
  get lastSeq(): number {
    return this.seq;
  }

  /** Where to ask the runtime to start: at the stored stamp (it is inclusive; the rest is skipped here). */
  get since(): string | undefined {
    return this.clean?.ts;
  }

  accept(chunks: LogChunk[]): void {
    for (const chunk of chunks) {
      const nanos = chunk.ts === this.position?.ts ? this.position.nanos : timestampNanos(chunk.ts);
      if (this.skip) {
        if (nanos < this.skip.nanos) continue;
        if (nanos === this.skip.nanos && this.position!.count < this.skip.count) {
          this.position!.count++;
          continue;
        }
        this.skip = undefined;
      }
      if (this.position && this.position.nanos === nanos) this.position.count++;
      else this.position = { ts: chunk.ts, nanos, count: 1 };
      for (const line of this.splitters[chunk.stream].push(chunk.data)) this.add({ ts: chunk.ts, stream: chunk.stream, ...line });
      if (!this.splitters.stdout.pending && !this.splitters.stderr.pending) this.clean = { ts: chunk.ts, atTs: this.position.count, seq: this.seq };
    }
  }

  /** The output ended (the container stopped): its unfinished lines are lines, then everything is sent. */
  finish(): void {
    const ts = this.position?.ts;
    for (const stream of ['stdout', 'stderr'] as const) {
      for (const line of this.splitters[stream].end()) this.add({ ts: ts!, stream, ...line });
    }
    if (this.position) this.clean = { ts: this.position.ts, atTs: this.position.count, seq: this.seq };
    this.flush();
  }

  /** Sends what is pending as one batch, then reports the cursor. */
  flush(): void {
    this.deps.clock.clearTimeout(this.timer);
    this.timer = undefined;
    if (this.gap) {
      const gap = this.gap;
      this.gap = undefined;
      this.add({ ts: gap.ts, stream: 'stderr', text: gapMarkerText(gap), truncated: false }, gap);
      // A marker at a clean point keeps it clean: a resumed agent numbers on after it.
      if (this.clean && this.clean.seq === this.seq - 1 && this.isClean()) this.clean = { ...this.clean, seq: this.seq };
    }
    const cursor = this.clean;
    if (this.pending.length > 0) {
      const lines = this.pending;
      this.pending = [];
      this.pendingBytes = 0;
      const msg: LogLinesMsg = { containerId: this.ref.containerId, appId: this.ref.appId, deploymentId: this.ref.deploymentId, lines };
      const batch = { cursor, done: false };
      this.unacked.push(batch);
      const settled = () => {
        batch.done = true;
        this.advance();
      };
      this.deps.sink.send(AGENT_MESSAGE.logLines, msg, {
        droppable: true,
        onAck: settled,
        onDrop: () => {
          this.dropped(lines);
          settled();
        },
      });
    } else if (cursor) {
      // Nothing new to send: the cursor moves once every batch before it is taken.
      const last = this.unacked[this.unacked.length - 1];
      if (last) last.cursor = cursor;
      else this.report(cursor);
    }
  }

  /** Reports the cursor of the longest run of settled batches at the head. */
  private advance(): void {
    let cursor: LogCursor | undefined;
    while (this.unacked[0]?.done) cursor = this.unacked.shift()!.cursor ?? cursor;
    if (cursor) this.report(cursor);
  }

  private report(cursor: LogCursor): void {
    if (cursor.seq === this.lastSaved?.seq && cursor.ts === this.lastSaved.ts && cursor.atTs === this.lastSaved.atTs) return;
    this.lastSaved = cursor;
    this.deps.onCursor(cursor);
  }

  /** Stops the flush timer without sending. */
  close(): void {
    this.deps.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private isClean(): boolean {
    return !this.splitters.stdout.pending && !this.splitters.stderr.pending;
  }

  private add(line: Omit<LogLine, 'seq'>, marker?: Gap): void {
    const numbered: LogLine = { seq: ++this.seq, ...line };
    this.pending.push(numbered);
    this.pendingBytes += line.text.length + 64;
    if (marker) {
      this.markers.set(numbered, marker);
      return;
    }
    if (this.pendingBytes >= this.options.maxBatchBytes || this.pending.length >= this.options.maxBatchLines) this.flush();
    else this.arm(this.options.flushDelayMs);
  }

  private arm(ms: number): void {
    this.timer ??= this.deps.clock.setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, ms);
  }

  /** The outbox dropped one of our batches (maybe from inside another send: only note it here). */
  private dropped(lines: LogLine[]): void {
    const appLines = lines.filter((l) => !this.markers.has(l)).length;
    this.deps.counters.droppedLines += appLines;
    this.deps.counters.droppedBatches++;
    if (appLines > 0) this.deps.onDrop?.(this.ref, appLines);
    // Every seq of the batch is a line a reader will not see; a marker in it hands on its own gap.
    let gap = this.gap;
    for (const line of lines) {
      const told = this.markers.get(line);
      for (const g of told ? [told, { lines: 1, firstSeq: line.seq, lastSeq: line.seq, ts: line.ts }] : [{ lines: 1, firstSeq: line.seq, lastSeq: line.seq, ts: line.ts }]) {
        gap = gap
          ? { lines: gap.lines + g.lines, firstSeq: Math.min(gap.firstSeq, g.firstSeq), lastSeq: Math.max(gap.lastSeq, g.lastSeq), ts: timestampNanos(gap.ts) >= timestampNanos(g.ts) ? gap.ts : g.ts }
          : g;
      }
    }
    this.gap = gap;
    // A batch of only a marker: send the next marker later, so that two quiet containers whose markers
    // push each other out of a full buffer do not do so forever.
    const onlyMarker = appLines === 0;
    this.arm(onlyMarker ? this.options.markerRetryMs : this.options.flushDelayMs);
  }
}
