/**
 * Where telemetry goes: the agent connection's acknowledged, ordered outbox. Telemetry only needs
 * send(); tests use an in-memory sink.
 */
export interface SendOptions {
  /** May be dropped (oldest first) when the outbox is full: the control plane was unreachable too long. */
  droppable?: boolean;
  /** Called when this message was dropped instead of sent. */
  onDrop?: () => void;
  /** Called once the control plane acknowledged this message. */
  onAck?: () => void;
  /** Its size as the sender counted it. */
  bytes?: number;
}

export interface TelemetrySink {
  send(kind: string, msg: unknown, opts?: SendOptions): void;
  /** Undefined when the sink takes more now; else a promise that settles when it does (flow control). */
  whenWritable?(): Promise<void> | undefined;
  /** True when nothing waits to be sent or acknowledged: a message sent now goes out at once. */
  idle?(): boolean;
}
