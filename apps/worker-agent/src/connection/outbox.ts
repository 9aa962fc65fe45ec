/**
 * What the agent has told nobody yet: messages of any kind in the order they happened, each kept until
 * the control plane acknowledged it. Bounded by count and by bytes: when full, the oldest droppable
 * messages (telemetry: build-log batches, runtime log lines) go first, and their senders are told;
 * the rest (job results) are never dropped — the outbox grows past its bound rather than lose one.
 */

export const OUTBOX_LIMIT = 10_000;
/** BERTH_LOG_BUFFER_BYTES's default: 64 MiB. */
export const OUTBOX_MAX_BYTES = 64 * 1024 * 1024;
/**
 * While connected, log followers pause once this much waits to be acknowledged: a container that
 * writes faster than the control plane stores waits in its log file, not in the agent's memory.
 */
export const LOG_FLOW_WINDOW_BYTES = 2 * 1024 * 1024;

export interface SendOptions {
  /** May be dropped, oldest first, when the outbox is full (telemetry). */
  droppable?: boolean;
  /** Called if this message is dropped before it was acknowledged (or the control plane refused it). */
  onDrop?: () => void;
  /** Called once the control plane acknowledged it. */
  onAck?: () => void;
  /** Its size as the sender counted it; else its JSON is measured. */
  bytes?: number;
}

export interface OutboxEntry {
  id: number;
  kind: string;
  msg: unknown;
  bytes: number;
  droppable: boolean;
  onDrop?: () => void;
  onAck?: () => void;
}

export class Outbox {
  private entries: OutboxEntry[] = [];
  private nextId = 1;
  private droppedCount = 0;
  private totalBytes = 0;

  constructor(
    private readonly limit = OUTBOX_LIMIT,
    private readonly maxBytes = OUTBOX_MAX_BYTES,
  ) {}

  /** Appends; returns how many droppable messages were dropped to make room (the new one included, if it had to go). */
  push(kind: string, msg: unknown, opts: SendOptions = {}): number {
    const entry: OutboxEntry = { id: this.nextId++, kind, msg, bytes: opts.bytes ?? sizeOf(msg), droppable: opts.droppable === true, onDrop: opts.onDrop, onAck: opts.onAck };
    let dropped = 0;
    while (this.entries.length >= this.limit || (this.entries.length > 0 && this.totalBytes + entry.bytes > this.maxBytes)) {
      const oldest = this.entries.findIndex((e) => e.droppable);
      if (oldest >= 0) {
        const removed = this.entries.splice(oldest, 1)[0]!;
        this.totalBytes -= removed.bytes;
        this.drop(removed);
        dropped++;
      } else if (entry.droppable) {
        this.drop(entry);
        return dropped + 1;
      } else {
        break;
      }
    }
    this.entries.push(entry);
    this.totalBytes += entry.bytes;
    return dropped;
  }

  /** The oldest unacknowledged message. */
  peek(): OutboxEntry | undefined {
    return this.entries[0];
  }

  /** Forgets an acknowledged message (no-op when it was already dropped) and tells its sender. */
  remove(id: number, outcome: 'acked' | 'refused' = 'acked'): void {
    const i = this.entries.findIndex((e) => e.id === id);
    if (i < 0) return;
    const [entry] = this.entries.splice(i, 1);
    this.totalBytes -= entry!.bytes;
    try {
      if (outcome === 'acked') entry!.onAck?.();
      else entry!.onDrop?.();
    } catch {
      // A sender's bookkeeping must not stop the outbox.
    }
  }

  get size(): number {
    return this.entries.length;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  /** Messages dropped since start, for the operator's logs and metrics. */
  get dropped(): number {
    return this.droppedCount;
  }

  snapshot(): readonly OutboxEntry[] {
    return [...this.entries];
  }

  private drop(entry: OutboxEntry): void {
    this.droppedCount++;
    try {
      entry.onDrop?.();
    } catch {
      // A sender's bookkeeping must not stop the outbox.
    }
  }
}

function sizeOf(msg: unknown): number {
  try {
    return Buffer.byteLength(JSON.stringify(msg) ?? '', 'utf8');
  } catch {
    return 0;
  }
}
