/**
 * What the agent has told nobody yet: job messages in the order they happened, each kept until the
 * control plane acknowledged it. Bounded: when full, the oldest build-log batches go first; job
 * results (started, image built, container started, succeeded, failed) are never dropped.
 */
import type { JobEvent, JobMessages } from '../jobs/job-reporter';

export const OUTBOX_LIMIT = 10_000;

export interface OutboxEntry<E extends JobEvent = JobEvent> {
  id: number;
  event: E;
  msg: JobMessages[E];
}

export class Outbox {
  private entries: OutboxEntry[] = [];
  private nextId = 1;
  private droppedLogs = 0;

  constructor(private readonly limit = OUTBOX_LIMIT) {}

  /** Appends; returns how many log batches were dropped to make room (0 or 1). */
  push<E extends JobEvent>(event: E, msg: JobMessages[E]): number {
    let dropped = 0;
    if (this.entries.length >= this.limit) {
      const oldestLog = this.entries.findIndex((e) => e.event === 'job:log');
      if (oldestLog >= 0) {
        this.entries.splice(oldestLog, 1);
        dropped = 1;
      } else if (event === 'job:log') {
        this.droppedLogs++;
        return 1;
      }
    }
    this.droppedLogs += dropped;
    this.entries.push({ id: this.nextId++, event, msg } as OutboxEntry);
    return dropped;
  }

  /** The oldest unacknowledged message. */
  peek(): OutboxEntry | undefined {
    return this.entries[0];
  }

  /** Forgets an acknowledged message (no-op when it was already dropped). */
  remove(id: number): void {
    const i = this.entries.findIndex((e) => e.id === id);
    if (i >= 0) this.entries.splice(i, 1);
  }

  get size(): number {
    return this.entries.length;
  }

  /** Log batches dropped since start, for the operator's logs. */
  get dropped(): number {
    return this.droppedLogs;
  }

  snapshot(): readonly OutboxEntry[] {
    return [...this.entries];
  }
}
