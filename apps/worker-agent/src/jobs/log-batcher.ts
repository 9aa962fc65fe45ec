import { systemClock } from '@berth/core';
import type { JobReporter } from './job-reporter';

export interface LogBatcherOptions {
  /** Lines per job:log message. */
  maxLines: number;
  /** Longest a line waits before it is sent. */
  maxDelayMs: number;
  /** Longer lines are cut (a minified bundle printed by a build is not a log line). */
  maxLineLength: number;
  /** How many of the last lines to keep for a failure's log tail. */
  keepLast: number;
  /** The seq after which this run numbers its lines (JobSpec.logSeqStart). */
  startSeq: number;
}

const DEFAULTS: LogBatcherOptions = { maxLines: 100, maxDelayMs: 250, maxLineLength: 4096, keepLast: 50, startSeq: 0 };

/** Build output of one job, as job:log messages with a per-job increasing seq. */
export class LogBatcher {
  private seq = 0;
  private pending: { seq: number; line: string; at: string }[] = [];
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
    const line = raw.length > this.options.maxLineLength ? `${raw.slice(0, this.options.maxLineLength)}…` : raw;
    this.pending.push({ seq: ++this.seq, line, at: this.now().toISOString() });
    this.recent.push(line);
    if (this.recent.length > this.options.keepLast) this.recent.shift();
    if (this.pending.length >= this.options.maxLines) this.flush();
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
    this.reporter.report('job:log', { jobId: this.jobId, lines });
  }

  /** The last lines pushed (up to keepLast). */
  tail(): string[] {
    return [...this.recent];
  }
}
