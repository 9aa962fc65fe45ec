/**
 * Appending: check each stream's expected version, insert its events with the next versions, and NOTIFY
 * the channel so subscribers wake when (and only if) the transaction commits. One stream is one
 * statement (one round trip, its own transaction); several streams share an explicit transaction.
 *
 * Every append holds a transaction-level advisory lock per stream it touches. Two writers inserting
 * the same version are caught by the unique (stream_id, version) key anyway; the lock is for an
 * appendMany entry without events, which only checks a stream's version: a writer appending to that
 * stream meanwhile must commit after it (so the check stayed true) or before its check (so it fails).
 */
import type { Pool, PoolClient } from 'pg';
import { ConcurrencyError } from './errors';
import { STREAM_VERSION_SQL } from './event-rows';
import type { AppendResult, EventMetadata, ExpectedVersion, StreamAppend } from './types';

export interface AppendContext {
  now: Date;
  newId: () => string;
  channel: string;
  metadata?: EventMetadata;
}

/** Seeds the hash of a stream id into its advisory lock key, away from other users of advisory locks. */
const STREAM_LOCK_SEED = 1_650_553_460; // 'bert'
const LOCK_STREAM_SQL = `SELECT pg_advisory_xact_lock(hashtextextended($1, ${STREAM_LOCK_SEED}))`;

const INSERT_SQL = `INSERT INTO events (stream_id, stream_type, version, type, data, metadata, occurred_at)
  SELECT $1, $2, $3::int + e.ord::int, e.ev->>'type', e.ev->'data', e.ev->'metadata', $4
  FROM jsonb_array_elements($5::jsonb) WITH ORDINALITY AS e(ev, ord)
  ORDER BY e.ord
  RETURNING global_position::text AS position, transaction_id::text AS transaction_id, version`;

/**
 * One stream in one statement: the version check, the insert and the NOTIFY commit together or not at
 * all. Nothing is inserted when the stream is not at the expected version; `current` tells which it is.
 */
const APPEND_ONE_SQL = `WITH locked AS (
    SELECT pg_advisory_xact_lock(hashtextextended($1, ${STREAM_LOCK_SEED}))
  ), current AS (
    SELECT (SELECT coalesce(max(version), 0)::int FROM events WHERE stream_id = $1) AS v FROM locked
  ), inserted AS (
    INSERT INTO events (stream_id, stream_type, version, type, data, metadata, occurred_at)
    SELECT $1, $2, current.v + e.ord::int, e.ev->>'type', e.ev->'data', e.ev->'metadata', $4
    FROM current, jsonb_array_elements($5::jsonb) WITH ORDINALITY AS e(ev, ord)
    WHERE $3 = 'any' OR ($3 = 'no_stream' AND current.v = 0) OR ($3 = 'exact' AND current.v = $6::int)
    ORDER BY e.ord
    RETURNING global_position, transaction_id, version
  ), notified AS (
    SELECT pg_notify($7, '') FROM (SELECT 1 FROM inserted LIMIT 1) AS any_row
  )
  SELECT (SELECT v FROM current) AS current, (SELECT count(*) FROM notified) AS notified,
    coalesce(array_agg(global_position::text ORDER BY version), '{}') AS positions,
    max(transaction_id::text) AS txid, max(version) AS last_version
  FROM inserted`;

/** Thrown inside the transaction when a unique (stream_id, version) violation shows a concurrent writer. */
export class StreamRaceError extends Error {
  constructor(
    readonly streamId: string,
    readonly expected: ExpectedVersion,
  ) {
    super(`concurrent append to stream ${streamId}`);
  }
}

function matches(expected: ExpectedVersion, actual: number): boolean {
  if (expected === 'any') return true;
  if (expected === 'no_stream') return actual === 0;
  return expected === actual;
}

export function checkAppends(appends: readonly StreamAppend[]): void {
  const seen = new Set<string>();
  let total = 0;
  for (const a of appends) {
    if (seen.has(a.streamId)) throw new RangeError(`stream ${a.streamId} appears twice in one appendMany; put its events in one entry`);
    if (typeof a.expectedVersion === 'number' && (!Number.isInteger(a.expectedVersion) || a.expectedVersion < 0)) {
      throw new RangeError(`expected version of ${a.streamId} must be a non-negative integer, 'no_stream' or 'any'`);
    }
    seen.add(a.streamId);
    total += a.events.length;
  }
  if (total === 0) throw new RangeError('an append needs at least one event');
}

/** Appends to one stream in a single statement; throws ConcurrencyError or StreamRaceError on a conflict. */
export async function appendOne(pool: Pool, a: StreamAppend, ctx: AppendContext): Promise<AppendResult> {
  const eventIds = a.events.map(() => ctx.newId());
  const expected = a.expectedVersion;
  let rows;
  try {
    ({ rows } = await pool.query<{ current: number; positions: string[]; txid: string | null; last_version: number | null }>({
      name: 'berth_append_one',
      text: APPEND_ONE_SQL,
      values: [
        a.streamId,
        a.streamType,
        typeof expected === 'number' ? 'exact' : expected,
        ctx.now,
        JSON.stringify(toPayload(a, eventIds, ctx)),
        typeof expected === 'number' ? expected : null,
        ctx.channel,
      ],
    }));
  } catch (err) {
    if (isUniqueVersionViolation(err)) throw new StreamRaceError(a.streamId, expected);
    throw err;
  }
  const row = rows[0];
  if (row.txid === null || row.last_version === null) throw new ConcurrencyError(a.streamId, expected, row.current);
  return { transactionId: row.txid, nextVersion: row.last_version, positions: row.positions, eventIds };
}

function toPayload(a: StreamAppend, eventIds: string[], ctx: AppendContext) {
  return a.events.map((e, i) => ({ type: e.type, data: e.data ?? null, metadata: { ...ctx.metadata, eventId: eventIds[i] } }));
}

/** Runs inside an open transaction on `client`; throws ConcurrencyError or StreamRaceError on a conflict. */
export async function appendStreams(client: PoolClient, appends: readonly StreamAppend[], ctx: AppendContext): Promise<AppendResult[]> {
  // In one order for every writer, so two appendMany calls over the same streams cannot deadlock.
  for (const streamId of appends.map((a) => a.streamId).sort()) await client.query(LOCK_STREAM_SQL, [streamId]);
  const results: AppendResult[] = [];
  for (const a of appends) {
    const { rows } = await client.query<{ version: number }>(STREAM_VERSION_SQL, [a.streamId]);
    const current = rows[0].version;
    if (!matches(a.expectedVersion, current)) throw new ConcurrencyError(a.streamId, a.expectedVersion, current);
    if (a.events.length === 0) {
      results.push({ transactionId: '', nextVersion: current, positions: [], eventIds: [] });
      continue;
    }
    const eventIds = a.events.map(() => ctx.newId());
    const payload = toPayload(a, eventIds, ctx);
    let inserted;
    try {
      inserted = await client.query<{ position: string; transaction_id: string; version: number }>(INSERT_SQL, [
        a.streamId,
        a.streamType,
        current,
        ctx.now,
        JSON.stringify(payload),
      ]);
    } catch (err) {
      if (isUniqueVersionViolation(err)) throw new StreamRaceError(a.streamId, a.expectedVersion);
      throw err;
    }
    const byVersion = [...inserted.rows].sort((x, y) => x.version - y.version);
    results.push({
      transactionId: byVersion[0].transaction_id,
      nextVersion: byVersion[byVersion.length - 1].version,
      positions: byVersion.map((r) => r.position),
      eventIds,
    });
  }
  const transactionId = results.find((r) => r.transactionId !== '')?.transactionId ?? '';
  for (const r of results) r.transactionId = transactionId;
  await client.query('SELECT pg_notify($1, $2)', [ctx.channel, '']);
  return results;
}

function isUniqueVersionViolation(err: unknown): boolean {
  const e = err as { code?: string; constraint?: string };
  return e.code === '23505' && e.constraint === 'events_stream_version';
}

/** A deadlock between two multi-stream appends is a concurrency conflict like any other. */
export function isDeadlock(err: unknown): boolean {
  return (err as { code?: string }).code === '40P01';
}
