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
}

export interface TelemetrySink {
  send(kind: string, msg: unknown, opts?: SendOptions): void;
}
