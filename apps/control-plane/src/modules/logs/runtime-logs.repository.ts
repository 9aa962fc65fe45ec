import { Inject, Injectable } from '@nestjs/common';
import type { LogLine, LogLinesMsg, LogStream } from '@berth/contracts';
import type { Pool, PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { PG_POOL } from '../../database/pg-pool';

export interface StoredLogLine {
  /** The cursor: a decimal string of the row's id. */
  id: string;
  ts: string;
  stream: LogStream;
  text: string;
  truncated: boolean;
  deploymentId: string;
}

/** Whose lines a batch holds: the fields of a `logs:lines` message besides its lines. */
export type LogBatchTarget = Pick<LogLinesMsg, 'appId' | 'deploymentId' | 'containerId'>;

export interface LogFilter {
  stream?: LogStream;
  /** Substring the text must contain (case-insensitive). */
  q?: string;
}

/** Advisory-lock class of the per-app insert lock (the second key is appLockKey(app_id)). */
const APP_INSERT_LOCK = 0x4c4f47; // "LOG"

/**
 * The columns as the API names them, so a row is a StoredLogLine as it comes. `ts` comes back as the
 * text Date#toISOString would give (UTC, milliseconds, both cut rather than rounded), written by
 * PostgreSQL: parsing a timestamptz into a Date and printing it again was the largest cost of reading
 * lines back for live subscribers.
 */
const COLUMNS = `id, to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS ts, stream, text, truncated, deployment_id AS "deploymentId"`;

/**
 * A PostgreSQL array literal of `values`, each element quoted (so empty text, spaces, commas, braces
 * and the word NULL stay text) with `"` and `\` escaped. The driver's own array encoding does the same
 * one element at a time through generic value preparation, which cost more than the INSERT it fed.
 */
export function textArrayLiteral(values: readonly string[]): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    out += (i === 0 ? '"' : ',"') + (NEEDS_ESCAPE.test(v) ? v.replace(ESCAPED, '\\$&') : v) + '"';
  }
  return out + '}';
}
const NEEDS_ESCAPE = /["\\]/;
const ESCAPED = /["\\]/g;

/**
 * The app's key in the per-app insert lock: the first 32 bits of its id, a number, so the lock is
 * taken in the same round trip as BEGIN without quoting anything. Two apps sharing a key only take
 * turns.
 */
const appLockKey = (appId: string): number => parseInt(appId.replace(/-/g, '').slice(0, 8), 16) | 0;

const COPY_LINES = 'COPY runtime_logs (app_id, deployment_id, container_id, seq, ts, stream, text, truncated, received_at) FROM STDIN';

/** A value in COPY's text format: backslash, tab, newline and carriage return escaped, the rest as it is. */
function copyText(v: string): string {
  return COPY_SPECIAL.test(v) ? v.replace(COPY_SPECIALS, (c) => COPY_ESCAPES[c]) : v;
}
const COPY_SPECIAL = /[\\\t\n\r]/;
const COPY_SPECIALS = /[\\\t\n\r]/g;
const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/**
 * The batch as COPY text, one row a line, in the column order of COPY_LINES, as UTF-8. Each row is
 * written into the buffer as it is made: a string grown row by row and converted at the end had to be
 * flattened first, which cost ten times as much as making the rows.
 */
function copyRows(target: LogBatchTarget, lines: readonly LogLine[], receivedAt: Date): Buffer {
  const head = `${target.appId}\t${target.deploymentId}\t${copyText(target.containerId)}\t`;
  const tail = `\t${receivedAt.toISOString()}\n`;
  let out = Buffer.allocUnsafe(lines.length * 256);
  let at = 0;
  for (const l of lines) {
    const row = `${head}${l.seq}\t${copyText(l.ts)}\t${l.stream}\t${copyText(l.text)}\t${l.truncated ? 't' : 'f'}${tail}`;
    // A UTF-16 unit is at most 3 bytes of UTF-8.
    if (at + row.length * 3 > out.length) {
      const bigger = Buffer.allocUnsafe(Math.max(out.length * 2, at + row.length * 3));
      out.copy(bigger, 0, 0, at);
      out = bigger;
    }
    at += out.write(row, at);
  }
  return out.subarray(0, at);
}

/** Runs `COPY … FROM STDIN` with `rows` on the client; the number of rows it stored. */
function copyIn(client: PoolClient, sql: string, rows: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const stream = client.query(copyFrom(sql));
    stream.on('error', reject);
    stream.on('finish', () => resolve(stream.rowCount));
    stream.end(rows);
  });
}

/** The error of a COPY that met a line already stored. */
const isLineKeyViolation = (err: unknown): boolean =>
  (err as { code?: string }).code === '23505' && (err as { constraint?: string }).constraint === 'runtime_logs_container_id_seq_key';

/**
 * The app's rows with id above `after` (a parameter or literal), as a range of the (app_id, id) index:
 * written so, the planner walks that index in order and stops at the LIMIT whatever its statistics
 * say. Written as `app_id = $1 AND id > $2`, a table without fresh statistics (a new installation, or
 * one that grew faster than autovacuum analyses it) was read by a bitmap scan of every row after the
 * cursor and a sort: each page of a reader catching up cost as much as everything behind it.
 */
const appRange = (after: string) => `(app_id, id) > ($1::uuid, ${after}::bigint) AND (app_id, id) <= ($1::uuid, ${BIGINT_MAX})`;
const BIGINT_MAX = '9223372036854775807';

function filterSql(filter: LogFilter, params: unknown[]): string {
  let sql = '';
  if (filter.stream) {
    params.push(filter.stream);
    sql += ` AND stream = $${params.length}`;
  }
  if (filter.q) {
    params.push(`%${filter.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    sql += ` AND text ILIKE $${params.length}`;
  }
  return sql;
}

/** The logs module's table, `runtime_logs`. */
@Injectable()
export class RuntimeLogsRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /**
   * Stores a batch and returns how many lines it inserted (only those reach live subscribers, read
   * back by id). The batch goes in by COPY, in a transaction that first takes a per-app advisory lock
   * and holds it until it commits, so the app's ids become visible in increasing order: a reader that
   * resumes after the last id it saw never skips a line that committed late. A batch holding a line
   * already stored (an agent's resend after a lost acknowledgement) breaks the (container_id, seq) key
   * and leaves nothing behind; it is then stored by an INSERT that drops the lines already there.
   */
  async insert(
    target: LogBatchTarget,
    lines: readonly LogLine[],
    receivedAt: Date,
  ): Promise<number> {
    if (lines.length === 0) return 0;
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      await client.query(`BEGIN; SELECT pg_advisory_xact_lock(${APP_INSERT_LOCK}, ${appLockKey(target.appId)})`);
      try {
        const stored = await copyIn(client, COPY_LINES, copyRows(target, lines, receivedAt));
        await client.query('COMMIT');
        return stored;
      } catch (err) {
        await client.query('ROLLBACK');
        if (!isLineKeyViolation(err)) throw err;
      }
    } catch (err) {
      // A connection that failed mid-transaction is closed rather than handed to the next caller.
      broken = err instanceof Error ? err : new Error(String(err));
      throw err;
    } finally {
      client.release(broken);
    }
    return this.insertSkippingStored(target, lines, receivedAt);
  }

  /** The resend path: one multi-row INSERT under the same per-app lock, dropping lines already stored. */
  private async insertSkippingStored(
    target: LogBatchTarget,
    lines: readonly LogLine[],
    receivedAt: Date,
  ): Promise<number> {
    // One statement, so one implicit transaction: no row reaches the INSERT (where its id is drawn)
    // before the CTE took the app's lock, and the lock is held until the statement commits.
    const { rowCount } = await this.pool.query(
      `WITH app_lock AS (SELECT pg_advisory_xact_lock($10, $11))
       INSERT INTO runtime_logs (app_id, deployment_id, container_id, seq, ts, stream, text, truncated, received_at)
       SELECT $1::uuid, $2::uuid, $3, l.seq, l.ts, l.stream, l.text, l.truncated, $4
       FROM app_lock, unnest($5::bigint[], $6::timestamptz[], $7::text[], $8::text[], $9::boolean[]) WITH ORDINALITY AS l(seq, ts, stream, text, truncated, n)
       ORDER BY l.n
       ON CONFLICT (container_id, seq) DO NOTHING`,
      [
        target.appId,
        target.deploymentId,
        target.containerId,
        receivedAt,
        `{${lines.map((l) => l.seq).join(',')}}`,
        textArrayLiteral(lines.map((l) => l.ts)),
        `{${lines.map((l) => l.stream).join(',')}}`,
        textArrayLiteral(lines.map((l) => l.text)),
        `{${lines.map((l) => (l.truncated ? 't' : 'f')).join(',')}}`,
        APP_INSERT_LOCK,
        appLockKey(target.appId),
      ],
    );
    return rowCount ?? 0;
  }

  /** Lines of an app with id > after, oldest first. */
  async readAfter(appId: string, after: string, limit: number, filter: LogFilter = {}): Promise<StoredLogLine[]> {
    const params: unknown[] = [appId, after, limit];
    const { rows } = await this.pool.query<StoredLogLine>(
      `SELECT ${COLUMNS} FROM runtime_logs WHERE ${appRange('$2')}${filterSql(filter, params)} ORDER BY app_id, id LIMIT $3`,
      params,
    );
    return rows;
  }

  /** The last `n` lines of an app, oldest first. */
  async tail(appId: string, n: number, filter: LogFilter = {}): Promise<StoredLogLine[]> {
    const params: unknown[] = [appId, n];
    const { rows } = await this.pool.query<StoredLogLine>(
      `SELECT ${COLUMNS} FROM runtime_logs WHERE ${appRange('0')}${filterSql(filter, params)} ORDER BY app_id DESC, id DESC LIMIT $2`,
      params,
    );
    return rows.reverse();
  }

  /** Retention: deletes at most `batch` lines received before `before`; how many it deleted. */
  async pruneReceivedBefore(before: Date, batch: number): Promise<number> {
    const { rowCount } = await this.pool.query(
      'DELETE FROM runtime_logs WHERE id IN (SELECT id FROM runtime_logs WHERE received_at < $1 ORDER BY received_at LIMIT $2)',
      [before, batch],
    );
    return rowCount ?? 0;
  }
}

export function compareIds(a: string, b: string): number {
  return a.length !== b.length ? a.length - b.length : a < b ? -1 : a > b ? 1 : 0;
}
