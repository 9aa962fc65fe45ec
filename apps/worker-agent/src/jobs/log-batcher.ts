import { LOG_LINE_MAX_BYTES, jsonTextBytes, sanitizeLogLine, systemClock } from '@berth/core';
import type { JobReporter } from './job-reporter';

export interface LogBatcherOptions {
  /** Lines per job:log message… */
  maxLines: number;
  /** …or fewer, before the message's JSON would pass this many bytes (the control plane takes 1 MB). */
  maxBytes: number;
  /** Longest a line waits before it is sent. */
  maxDelayMs: number;
  /** Lines are sanitised by the seed's rules and cut to this many bytes of UTF-8 (a minified bundle printed by a build is not a log line). */
  maxLineBytes: number;
  /** How many of the last lines to keep for a failure's log tail. */
  keepLast: number;
  /** The seq after which this run numbers its lines (JobSpec.logSeqStart). */
  startSeq: number;
}

const DEFAULTS: LogBatcherOptions = { maxLines: 100, maxBytes: 768 * 1024, maxDelayMs: 250, maxLineBytes: LOG_LINE_MAX_BYTES, keepLast: 50, startSeq: 0 };

/** The bytes of a build line's JSON besides its text: seq, at, names and punctuation. */
const LINE_JSON_OVERHEAD = 96;

/** Build output of one job, as job:log messages with a per-job increasing seq. */
export class LogBatcher {
  private seq = 0;
  private pending: { seq: number; line: string; at: string }[] = [];
  private pendingBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly recent: string[] = [];
  private readonly options: LogBatcherOptions;

  constructor(
    private readonly jobId: string,
    private readonly reporter: JobReporter,
    private readonly now: () => Date = () => systemClock.now(),
    options: Partial<LogBatcherOptions> = {},
  ) {
    this.options = { ...DEFAULTS, ...options };
    this.seq = this.options.startSeq;
  }

  push(raw: string): void {
    const { text: line } = sanitizeLogLine(raw, this.options.maxLineBytes);
    this.pending.push({ seq: ++this.seq, line, at: this.now().toISOString() });
    this.pendingBytes += LINE_JSON_OVERHEAD + jsonTextBytes(line);
    this.recent.push(line);
    if (this.recent.length > this.options.keepLast) this.recent.shift();
    if (this.pending.length >= this.options.maxLines || this.pendingBytes >= this.options.maxBytes) this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), this.options.maxDelayMs);
      this.timer.unref();
    }
  }

  /** Sends what is pending now (call before any message that must come after these lines). */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0) return;
    const lines = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    this.reporter.report('job:log', { jobId: this.jobId, lines });
  }

  /** The last lines pushed (up to keepLast). */
  tail(): string[] {
    return [...this.recent];
  }
}
