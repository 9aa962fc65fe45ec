/**
 * Following a container's output by reading the json-file log Docker writes for it
 * (/var/lib/docker/containers/<id>/<id>-json.log, rotated to .1, .2, …), instead of asking the Engine
 * to read that same file, decode it and encode every line again as a stream frame. The file is on
 * disk whatever we do, so a slow reader costs nothing but lag: reading waits while the sink is busy.
 *
 * Rotation: every file of the chain is opened when it is first seen and read through its handle, so
 * a file Docker renames, or deletes past max-file, is still read to its end before the next one.
 */
import { open, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import type { LogStream } from '@berth/contracts';
import type { Clock, TimerHandle } from '@berth/core';
import type { LogChunk, LogChunkSink, LogFollowEnd, LogFollowFrom, LogFollower } from '../runtime';
import { compareStamps, nanosTimestamp, timestampNanos } from './docker-logs';

/** Bytes read from the file at a time. */
const READ_BYTES = 256 * 1024;
/**
 * The newest file, read to its end, is checked for more output (and rotation) this often. (Backing
 * off while a container is quiet put the p99 of a paced flood from about 300 ms to about 800 ms.)
 */
export const JSON_FILE_POLL_MS = 50;
/**
 * Rotation is checked this often. A file rotated away and deleted before we opened it would be lost:
 * that takes max-file (3) rotations between two checks, 300 MB/s of output at Berth's 10 MB files.
 */
const ROTATION_CHECK_MS = 100;
/**
 * A rotated file whose last entry is stamped this long before `since` is passed over unread. The two
 * streams' stamps are out of order by far less (Docker stamps a chunk when it reads it).
 */
const SKIP_FILE_MARGIN_SECONDS = 10;

const LOG_PREFIX = Buffer.from('{"log":"');
const STREAM_KEY = Buffer.from(',"stream":"');
const TIME_KEY = Buffer.from('"time":"');
const BACKSLASH = 0x5c;
const QUOTE = 0x22;
const NEWLINE = 0x0a;

/**
 * Streaming decoder of json-file entries, one JSON object a line:
 * {"log":"<output, JSON-escaped>","stream":"stdout|stderr"[,"attrs":{…}],"time":"<RFC3339Nano>"}.
 * Docker escapes every control character, so an entry of plain text holds no backslash but the `\n`
 * that ends it: such an entry's output is taken in place (the buffer pushed must not be reused
 * afterwards, as chunks keep slices of it). Anything else goes through JSON.parse.
 */
export class JsonFileDecoder {
  private held: Buffer | undefined;

  push(piece: Buffer): LogChunk[] {
    const buf = this.held ? Buffer.concat([this.held, piece]) : piece;
    this.held = undefined;
    const out: LogChunk[] = [];
    let at = 0;
    for (;;) {
      const end = buf.indexOf(NEWLINE, at);
      if (end < 0) break;
      const chunk = decodeEntry(buf, at, end);
      if (chunk) out.push(chunk);
      at = end + 1;
    }
    if (at < buf.length) this.held = Buffer.from(buf.subarray(at));
    return out;
  }

  /** Whether part of an entry is waiting for the rest of it. */
  get pending(): boolean {
    return this.held !== undefined;
  }
}

/** One entry, buf[start, end) (end: its newline); undefined when it carries no output. */
function decodeEntry(buf: Buffer, start: number, end: number): LogChunk | undefined {
  if (buf.compare(LOG_PREFIX, 0, LOG_PREFIX.length, start, start + LOG_PREFIX.length) === 0) {
    const from = start + LOG_PREFIX.length;
    const quote = buf.indexOf(QUOTE, from);
    const slash = buf.indexOf(BACKSLASH, from);
    let data: Buffer | undefined;
    if (quote > 0 && quote < end) {
      if (slash < 0 || slash > quote) data = buf.subarray(from, quote);
      else if (slash === quote - 2 && buf[quote - 1] === 0x6e /* n */) {
        // The only escape is the line's own end: the newline goes where its backslash was.
        buf[slash] = NEWLINE;
        data = buf.subarray(from, slash + 1);
      }
    }
    if (data && buf.compare(STREAM_KEY, 0, STREAM_KEY.length, quote + 1, quote + 1 + STREAM_KEY.length) === 0) {
      const s = quote + 1 + STREAM_KEY.length;
      const stream: LogStream | undefined = buf[s + 3] === 0x6f ? 'stdout' : buf[s + 3] === 0x65 ? 'stderr' : undefined;
      const ts = timeOf(buf, start, end);
      if (stream && ts) return { stream, ts, data };
    }
  }
  const entry = JSON.parse(buf.toString('utf8', start, end)) as { log?: string; stream?: string; time?: string };
  if (!entry.log || !entry.time) return undefined;
  return { stream: entry.stream === 'stderr' ? 'stderr' : 'stdout', ts: entry.time, data: Buffer.from(entry.log, 'utf8') };
}

/** The entry's stamp: the last member, `"time":"…"}`. */
function timeOf(buf: Buffer, start: number, end: number): string | undefined {
  if (buf[end - 1] !== 0x7d /* } */ || buf[end - 2] !== QUOTE) return undefined;
  const open = buf.lastIndexOf(QUOTE, end - 3);
  if (open < start + TIME_KEY.length || buf.compare(TIME_KEY, 0, TIME_KEY.length, open - TIME_KEY.length + 1, open + 1) !== 0) return undefined;
  return buf.toString('latin1', open + 1, end - 2);
}

/** The stamp of a file's last entry, or undefined when it cannot tell. */
async function lastStamp(file: FileHandle): Promise<string | undefined> {
  const { size } = await file.stat();
  const length = Math.min(size, 256 * 1024);
  if (length === 0) return undefined;
  const buf = Buffer.allocUnsafe(length);
  const { bytesRead } = await file.read(buf, 0, length, size - length);
  const end = buf.lastIndexOf(NEWLINE, bytesRead - 1);
  if (end <= 0) return undefined;
  return timeOf(buf, buf.lastIndexOf(NEWLINE, end - 1) + 1, end);
}

interface ChainFile {
  handle: FileHandle;
  ino: number;
}

/** Opens the log and its rotated files (oldest first), retrying when Docker rotates meanwhile. */
async function openChain(logPath: string): Promise<ChainFile[]> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const files: ChainFile[] = [];
    try {
      const current = await open(logPath, 'r');
      files.push({ handle: current, ino: (await current.stat()).ino });
      for (let n = 1; ; n++) {
        const older = await open(`${logPath}.${n}`, 'r').catch((err: NodeJS.ErrnoException) => {
          if (err.code === 'ENOENT') return undefined;
          throw err;
        });
        if (!older) break;
        files.unshift({ handle: older, ino: (await older.stat()).ino });
      }
      const now = await stat(logPath).catch(() => undefined);
      if (now?.ino === files[files.length - 1]!.ino && new Set(files.map((f) => f.ino)).size === files.length) return files;
    } catch (err) {
      await Promise.all(files.map((f) => f.handle.close().catch(() => undefined)));
      throw err;
    }
    await Promise.all(files.map((f) => f.handle.close().catch(() => undefined)));
  }
  throw new Error(`${logPath} kept rotating while it was opened`);
}

export interface JsonFileFollowDeps {
  clock: Clock;
  /** Settles once the container is not running (its output has ended once the file is read to its end). */
  exited: Promise<unknown>;
  pollMs?: number;
}

export function followJsonFileLogs(logPath: string, from: LogFollowFrom, onChunks: LogChunkSink, deps: JsonFileFollowDeps): LogFollower {
  let stopped = false;
  let exited = false;
  let wake: (() => void) | undefined;
  let timer: TimerHandle | undefined;
  const nudge = () => {
    deps.clock.clearTimeout(timer);
    timer = undefined;
    const w = wake;
    wake = undefined;
    w?.();
  };
  let onStop!: () => void;
  const stoppedSignal = new Promise<void>((resolve) => (onStop = resolve));
  void deps.exited.then(
    () => ((exited = true), nudge()),
    () => ((exited = true), nudge()),
  );
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      wake = resolve;
      timer = deps.clock.setTimeout(nudge, ms);
    });

  const run = async (): Promise<LogFollowEnd> => {
    const chain = await openChain(logPath);
    let closed = false;
    let rotationTimer: TimerHandle | undefined;
    try {
      const since = from.since;
      // Rotated files entirely before `since` are not read.
      if (since) {
        const before = nanosTimestamp(timestampNanos(since) - BigInt(SKIP_FILE_MARGIN_SECONDS) * 1_000_000_000n);
        while (chain.length > 1) {
          const last = await lastStamp(chain[0]!.handle);
          if (!last || compareStamps(last, before) >= 0) break;
          await chain.shift()!.handle.close();
        }
      }
      let pos = 0;
      let decoder = new JsonFileDecoder();
      let checking: Promise<boolean> | undefined;
      /**
       * Whether Docker rotated the newest file of the chain; if so, the files after it join the chain:
       * the current one and, when it rotated more than once since we looked, the newest of .1, .2, …
       */
      const rotated = (): Promise<boolean> =>
        (checking ??= (async () => {
          const newest = chain[chain.length - 1]!.ino;
          const now = await stat(logPath).catch(() => undefined);
          if (!now || now.ino === newest || closed) return false;
          const found: ChainFile[] = [];
          const held = (ino: number) => chain.some((f) => f.ino === ino) || found.some((f) => f.ino === ino);
          for (let n = 0; ; n++) {
            const handle = await open(n === 0 ? logPath : `${logPath}.${n}`, 'r').catch(() => undefined);
            if (!handle) break;
            const ino = (await handle.stat()).ino;
            if (held(ino)) {
              await handle.close();
              break;
            }
            found.unshift({ handle, ino });
          }
          if (closed) {
            await Promise.all(found.map((f) => f.handle.close()));
            return false;
          }
          chain.push(...found);
          return found.length > 0;
        })().finally(() => (checking = undefined)));
      // Checked on a timer too, not only at the end of the file: while we are behind (or the sink makes
      // us wait), Docker may rotate the files we have not opened yet past max-file.
      // (At the end of the newest file the loop below checks at each poll itself.)
      let atEnd = false;
      rotationTimer = deps.clock.setInterval(() => {
        if (!atEnd) void rotated().catch(() => undefined);
      }, ROTATION_CHECK_MS);
      let buf = Buffer.allocUnsafe(READ_BYTES);
      while (!stopped) {
        // A file or the output ended only if a read that began after we knew it returns nothing.
        const exitedBefore = exited;
        const newerBefore = chain.length > 1;
        const { bytesRead } = await chain[0]!.handle.read(buf, 0, READ_BYTES, pos);
        if (stopped) break;
        if (bytesRead > 0) {
          atEnd = false;
          pos += bytesRead;
          // Chunks keep slices of what was read: a big read hands its buffer over, a small one is copied
          // out (so that half a line held for its end does not hold 256 KiB) and the buffer is read into again.
          let data: Buffer;
          if (bytesRead >= READ_BYTES / 4) {
            data = buf.subarray(0, bytesRead);
            buf = Buffer.allocUnsafe(READ_BYTES);
          } else {
            data = Buffer.from(buf.subarray(0, bytesRead));
          }
          let chunks = decoder.push(data);
          if (since) chunks = chunks.filter((c) => compareStamps(c.ts, since) >= 0);
          if (chunks.length > 0) {
            const busy = onChunks(chunks);
            if (busy) await Promise.race([busy, stoppedSignal]);
          }
          continue;
        }
        // The end of this file: the next one of the chain, a newer file, or wait for more output.
        if (newerBefore) {
          await chain.shift()!.handle.close();
          pos = 0;
          decoder = new JsonFileDecoder();
          continue;
        }
        if (chain.length > 1 || (await rotated())) continue;
        if (exitedBefore) return { reason: 'ended' };
        if (!exited) {
          atEnd = true;
          await pause(deps.pollMs ?? JSON_FILE_POLL_MS);
        }
      }
      return { reason: 'stopped' };
    } finally {
      closed = true;
      deps.clock.clearInterval(rotationTimer);
      await Promise.all(chain.map((f) => f.handle.close().catch(() => undefined)));
    }
  };

  const done = run().catch((err: unknown): LogFollowEnd => (stopped ? { reason: 'stopped' } : { reason: 'error', error: err as Error }));
  return {
    stop() {
      if (stopped) return;
      stopped = true;
      onStop();
      nudge();
    },
    done,
  };
}
