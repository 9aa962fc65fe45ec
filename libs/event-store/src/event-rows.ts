/**
 * The SQL that reads the log, shared by EventStore (on the pool) and ProjectorRunner (inside a batch's
 * transaction). Only events of transactions older than the oldest one still in flight are readable:
 * a transaction that has not committed yet has an xid >= pg_snapshot_xmin(pg_current_snapshot()), so
 * whatever it will add sorts after everything returned here, and no reader ever skips a late commit.
 */
import type { ClientBase, Pool } from 'pg';
import { START, type Cursor, type EventMetadata, type ReadAllResult, type StoredEvent } from './types';

export type Queryable = Pool | ClientBase;

// Aliases must not reuse the column names: ORDER BY would then sort by the text aliases, not the xid8/bigint.
const COLUMNS = `global_position::text AS pos, transaction_id::text AS txid, stream_id, stream_type,
  version, type, data, metadata, occurred_at`;

const READABLE = `transaction_id < pg_snapshot_xmin(pg_current_snapshot())`;

/** Uses the (transaction_id, global_position) index: both conditions become its Index Cond, no sort. */
export const READ_ALL_SQL = `SELECT ${COLUMNS} FROM events
  WHERE ${READABLE} AND (transaction_id, global_position) > ($1::xid8, $2::bigint)
  ORDER BY transaction_id, global_position
  LIMIT $3`;

/**
 * After a short page: is anything committed after it? Then it was held back behind a transaction in
 * flight, or has become readable since (this is a new statement, so a new snapshot): read again soon.
 * The ORDER BY ... LIMIT 1 in a subquery keeps the planner on the index: a bare EXISTS drops them, and
 * with no statistics for xid8 it guesses a third of the log matches and scans the whole table (every
 * short page of every projector, a few milliseconds of PostgreSQL's CPU each for 50,000 events).
 */
export const MORE_AFTER_SQL = `SELECT EXISTS (SELECT 1 FROM (SELECT 1 FROM events
  WHERE (transaction_id, global_position) > ($1::xid8, $2::bigint)
  ORDER BY transaction_id, global_position LIMIT 1) AS first_after) AS blocked`;

const HEAD_SQL = `SELECT transaction_id::text AS txid, global_position::text AS pos FROM events
  WHERE ${READABLE}
  ORDER BY transaction_id DESC, global_position DESC
  LIMIT 1`;

const READ_STREAM_SQL = `SELECT ${COLUMNS} FROM events WHERE stream_id = $1 AND version > $2 ORDER BY version`;

export const STREAM_VERSION_SQL = `SELECT coalesce(max(version), 0)::int AS version FROM events WHERE stream_id = $1`;

interface EventRow {
  pos: string;
  txid: string;
  stream_id: string;
  stream_type: string;
  version: number;
  type: string;
  data: unknown;
  metadata: EventMetadata;
  occurred_at: Date;
}

function toStoredEvent(row: EventRow): StoredEvent {
  return {
    position: row.pos,
    transactionId: row.txid,
    streamId: row.stream_id,
    streamType: row.stream_type,
    version: row.version,
    type: row.type,
    data: row.data,
    metadata: row.metadata,
    occurredAt: row.occurred_at,
    eventId: typeof row.metadata.eventId === 'string' ? row.metadata.eventId : '',
  };
}

export interface ReadAllPage extends ReadAllResult {
  /**
   * True when the page came back short although committed events follow it: they wait behind a
   * transaction still in flight (anywhere in the cluster, and its commit may send no NOTIFY), or became
   * readable just after the page was read. Readers that see this read again soon instead of waiting
   * for the next wake.
   */
  blocked: boolean;
}

export async function readAllOn(db: Queryable, after: Cursor, limit: number): Promise<ReadAllPage> {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`readAll limit must be a positive integer, got ${limit}`);
  const { rows } = await db.query<EventRow>(READ_ALL_SQL, [after.transactionId, after.position, limit]);
  const events = rows.map(toStoredEvent);
  const last = events[events.length - 1];
  const next = last ? { transactionId: last.transactionId, position: last.position } : after;
  if (events.length === limit) return { events, next, blocked: false };
  const blocked = await db.query<{ blocked: boolean }>(MORE_AFTER_SQL, [next.transactionId, next.position]);
  return { events, next, blocked: blocked.rows[0].blocked };
}

export async function headCursorOn(db: Queryable): Promise<Cursor> {
  const { rows } = await db.query<{ txid: string; pos: string }>(HEAD_SQL);
  return rows[0] ? { transactionId: rows[0].txid, position: rows[0].pos } : START;
}

export async function readStreamOn(db: Queryable, streamId: string, afterVersion: number): Promise<StoredEvent[]> {
  const { rows } = await db.query<EventRow>(READ_STREAM_SQL, [streamId, afterVersion]);
  return rows.map(toStoredEvent);
}

export async function streamVersionOn(db: Queryable, streamId: string): Promise<number> {
  const { rows } = await db.query<{ version: number }>(STREAM_VERSION_SQL, [streamId]);
  return rows[0].version;
}
