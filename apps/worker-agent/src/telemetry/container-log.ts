/**
 * One container's runtime log on its way out (seed 3): raw output chunks in, sanitised lines
 * numbered from 1 without gaps out, in `logs:lines` batches flushed by size or after a short delay.
 * After each batch it moves a cursor the agent persists, so a restarted agent resumes exactly there;
 * batches the outbox had to drop are counted and leave a marker line in the log itself.
 */
import { AGENT_MESSAGE } from '@berth/contracts';
import type { LogLine, LogLinesMsg, LogStream } from '@berth/contracts';
import { LogLineSplitter, jsonTextBytes } from '@berth/core';
import type { Clock, TimerHandle } from '@berth/core';
import { compareStamps, nanosTimestamp, timestampNanos } from '../runtimes/docker/docker-logs';
import type { LogChunk } from '../runtimes/runtime';
import type { LogCursor, StreamPosition } from './log-cursor-store';
import type { TelemetrySink } from './telemetry-sink';

export interface ContainerLogOptions {
  /** A batch is sent before its JSON would pass this many bytes (see lineJsonBytes)… */
  maxBatchBytes: number;
  /** …or this many lines… */
  maxBatchLines: number;
  /**
   * …or this many, when the connection has nothing on its way (TelemetrySink.idle): while the control
   * plane keeps up, lines wait no longer than it takes to write this many; when it does not, batches
   * grow towards the limits above while the one before is sent and stored…
   */
  eagerLines: number;
  /** …or when its oldest line has waited this long. */
  flushDelayMs: number;
  /** After a batch that carried only a gap marker was dropped, wait this long before sending the marker again. */
  markerRetryMs: number;
}

/**
 * Batches stay well under the control plane's message limit (MAX_SOCKET_MESSAGE_BYTES) whatever
 * their lines hold; short lines (under about 50 characters) fill one up to the 5,000 lines the control
 * plane takes.
 */
export const DEFAULT_CONTAINER_LOG_OPTIONS: ContainerLogOptions = { maxBatchBytes: 768 * 1024, maxBatchLines: 5000, eagerLines: 1000, flushDelayMs: 250, markerRetryMs: 5_000 };

/**
 * The bytes of a line's JSON besides its stamp and text: `{"seq":` and 16 digits, `,"ts":`,
 * `,"stream":"stdout"`, `,"text":`, `,"truncated":false}` and the comma after it.
 */
const LINE_JSON_FIELDS = 75;

/**
 * The most a line adds to its batch's JSON in UTF-8. A batch counted by its texts' length could pass
 * the control plane's message limit, which closes the connection it came on, and be sent again and
 * again (see jsonTextBytes).
 */
export function lineJsonBytes(ts: string, text: string): number {
  return LINE_JSON_FIELDS + jsonTextBytes(ts) + jsonTextBytes(text);
}

const STREAMS = ['stdout', 'stderr'] as const;
/**
 * A resumed follower starts this much before the cursor when one stream had no output yet: that
 * stream's first chunks may be stamped a little before the other stream's last shipped one (Docker
 * stamps a chunk when it reads it, and writes it after), and the runtime keeps only output stamped
 * at or after `since`. Chunks of the other stream read again are passed over.
 */
const UNSEEN_STREAM_MARGIN_NANOS = 5_000_000_000n;

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
  /** Per stream, where its output is: the last chunk's stamp and how many chunks of the stream carried it. */
  private readonly positions: Partial<Record<LogStream, { ts: string; count: number }>> = {};
  /**
   * Per stream, while it passes over output replayed after a restart: the stored cursor's position
   * (its chunks up to `atTs` chunks at `ts` were shipped), which the stream keeps until it is past it.
   */
  private readonly resumeAt: Partial<Record<LogStream, StreamPosition>> = {};
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
      for (const stream of STREAMS) {
        const at = from[stream];
        if (!at) continue;
        this.positions[stream] = { ts: at.ts, count: 0 };
        this.resumeAt[stream] = at;
      }
      this.clean = this.lastSaved = from;
    }
  }

  /** The last seq handed out. */
  get lastSeq(): number {
    return this.seq;
  }

  /**
   * Where to ask the runtime to start (it is inclusive; what was shipped is passed over here): the
   * earliest stream position of the cursor, earlier still when a stream had no output yet.
   */
  get since(): string | undefined {
    const seen = STREAMS.flatMap((s) => (this.clean?.[s] ? [timestampNanos(this.clean[s].ts)] : []));
    if (seen.length === 0) return undefined;
    const earliest = seen.reduce((a, b) => (a < b ? a : b));
    return nanosTimestamp(seen.length < STREAMS.length ? earliest - UNSEEN_STREAM_MARGIN_NANOS : earliest);
  }

  /** Takes the chunks; a promise when the sink wants the reader to wait before it sends more. */
  accept(chunks: LogChunk[]): Promise<void> | undefined {
    for (const chunk of chunks) {
      const stream = chunk.stream;
      if (this.resumeAt[stream] && this.replayed(stream, chunk.ts)) continue;
      // The runtime prints one instant one way, so the same text is the same stamp: counting lines per
      // stamp needs no parsing (only passing over replayed output compares instants).
      const at = this.positions[stream];
      if (at && at.ts === chunk.ts) at.count++;
      else this.positions[stream] = { ts: chunk.ts, count: 1 };
      for (const line of this.splitters[stream].push(chunk.data)) this.add(chunk.ts, stream, line.text, line.truncated);
      if (this.isClean()) this.clean = this.cursorHere();
    }
    return this.deps.sink.whenWritable?.();
  }

  /**
   * While a stream passes over output a resumed cursor says was shipped: whether this chunk is part of
   * it (counted at the cursor's stamp). The first chunk past it ends the pass; the caller then counts
   * it on from the cursor's position when it carries the same instant.
   */
  private replayed(stream: LogStream, ts: string): boolean {
    const resume = this.resumeAt[stream]!;
    const at = this.positions[stream]!;
    const order = compareStamps(ts, resume.ts);
    if (order < 0) return true;
    if (order === 0 && at.count < resume.atTs) {
      at.count++;
      return true;
    }
    delete this.resumeAt[stream];
    // The caller counts this chunk at `ts`: on from the cursor's count at the same instant, else from 0.
    this.positions[stream] = { ts, count: order === 0 ? at.count : 0 };
    return false;
  }

  /** The output ended (the container stopped): its unfinished lines are lines, then everything is sent. */
  finish(): void {
    for (const stream of STREAMS) {
      for (const line of this.splitters[stream].end()) this.add(this.positions[stream]!.ts, stream, line.text, line.truncated);
    }
    if (STREAMS.some((s) => this.positions[s])) this.clean = this.cursorHere();
    this.flush();
  }

  /** Sends what is pending as one batch, then reports the cursor. */
  flush(): void {
    this.deps.clock.clearTimeout(this.timer);
    this.timer = undefined;
    if (this.gap) {
      const gap = this.gap;
      this.gap = undefined;
      this.add(gap.ts, 'stderr', gapMarkerText(gap), false, gap);
      // A marker at a clean point keeps it clean: a resumed agent numbers on after it.
      if (this.clean && this.clean.seq === this.seq - 1 && this.isClean()) this.clean = { ...this.clean, seq: this.seq };
    }
    const cursor = this.clean;
    if (this.pending.length > 0) {
      const lines = this.pending;
      const bytes = this.pendingBytes;
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
        bytes,
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
    const same = (a?: StreamPosition, b?: StreamPosition) => a?.ts === b?.ts && a?.atTs === b?.atTs;
    if (cursor.seq === this.lastSaved?.seq && STREAMS.every((s) => same(cursor[s], this.lastSaved![s]))) return;
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

  /** The cursor of what was read so far; a stream still passing over replayed output stays at its stored position. */
  private cursorHere(): LogCursor {
    const cursor: LogCursor = { seq: this.seq };
    for (const stream of STREAMS) {
      const at = this.positions[stream];
      if (this.resumeAt[stream]) cursor[stream] = this.resumeAt[stream];
      else if (at) cursor[stream] = { ts: at.ts, atTs: at.count };
    }
    return cursor;
  }

  private add(ts: string, stream: LogStream, text: string, truncated: boolean, marker?: Gap): void {
    const numbered: LogLine = { seq: ++this.seq, ts, stream, text, truncated };
    this.pending.push(numbered);
    this.pendingBytes += lineJsonBytes(ts, text);
    if (marker) {
      this.markers.set(numbered, marker);
      return;
    }
    const { maxBatchBytes, maxBatchLines, eagerLines } = this.options;
    if (this.pendingBytes >= maxBatchBytes || this.pending.length >= maxBatchLines || (this.pending.length >= eagerLines && this.deps.sink.idle?.())) this.flush();
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
          ? { lines: gap.lines + g.lines, firstSeq: Math.min(gap.firstSeq, g.firstSeq), lastSeq: Math.max(gap.lastSeq, g.lastSeq), ts: compareStamps(gap.ts, g.ts) >= 0 ? gap.ts : g.ts }
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
