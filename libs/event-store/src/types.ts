import type { PoolClient } from 'pg';

/** Where a reader stands in the log: events are read in (transactionId, position) order. */
export interface Cursor {
  /** xid8 of the appending transaction, as a decimal string. */
  transactionId: string;
  /** global_position, as a decimal string (bigint). */
  position: string;
}

export const START: Cursor = { transactionId: '0', position: '0' };

export interface EventMetadata {
  actor?: string;
  correlationId?: string;
  causationId?: string;
  [key: string]: unknown;
}

export interface NewEvent<T extends string = string, D = unknown> {
  type: T;
  data: D;
}

export interface StoredEvent<T extends string = string, D = unknown> {
  position: string;
  transactionId: string;
  streamId: string;
  streamType: string;
  version: number;
  type: T;
  data: D;
  metadata: EventMetadata;
  occurredAt: Date;
  /** eventId: a uuid stored in metadata.eventId, so causationId can point at it. */
  eventId: string;
}

/** 'no_stream': the stream must not exist; 'any': no check; a number: the stream's current version. */
export type ExpectedVersion = number | 'no_stream' | 'any';

export interface AppendResult {
  /** xid8 of the appending transaction: with the last position, the cursor just past this append. */
  transactionId: string;
  /** Version of the stream after the append (the last event's version). */
  nextVersion: number;
  positions: string[];
  eventIds: string[];
}

export interface ReadAllResult {
  events: StoredEvent[];
  /** Pass back as `after` to continue; equal to the input when nothing new was read. */
  next: Cursor;
}

/**
 * A read model fed by events. `apply` runs inside the batch's transaction (client), together with the
 * checkpoint update, so an event is applied exactly once even if the process dies mid-batch.
 */
export interface Projector {
  readonly name: string;
  /** Tables this projector owns; rebuild truncates them before replaying. */
  readonly tables: string[];
  /** Event types this projector cares about; others advance the checkpoint without apply. */
  readonly handles?: readonly string[];
  apply(event: StoredEvent, client: PoolClient): Promise<void>;
}

export interface Subscription {
  stop(): Promise<void>;
}

/** One stream's part of an atomic multi-stream append. */
export interface StreamAppend {
  streamId: string;
  streamType: string;
  expectedVersion: ExpectedVersion;
  events: NewEvent[];
}
