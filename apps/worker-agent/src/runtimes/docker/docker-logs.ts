/**
 * Following a container's output through the Engine's logs API (follow, stdout + stderr,
 * timestamps). Docker writes the container's output to its log file whether or not anyone reads
 * it, so a slow reader only makes this HTTP stream wait: we pause it (TCP backpressure up to
 * dockerd's log reader), never buffer without bound, and the container keeps its pace.
 */
import type Docker from 'dockerode';
import type { LogStream } from '@berth/contracts';
import type { LogChunk, LogChunkSink, LogFollowEnd, LogFollowFrom, LogFollower } from '../runtime';

const STREAMS: Record<number, LogStream | undefined> = { 1: 'stdout', 2: 'stderr' };

/**
 * Streaming decoder of the Engine's multiplexed frames, [stream(1) 0 0 0 size(4, big-endian)] +
 * payload, where each payload (timestamps on) is "<RFC3339Nano> <output>". A frame may arrive in
 * any number of pieces; at most one frame is held.
 */
export class FrameDecoder {
  private held: Buffer = Buffer.alloc(0);

  push(piece: Buffer): LogChunk[] {
    const buf = this.held.length > 0 ? Buffer.concat([this.held, piece]) : piece;
    const out: LogChunk[] = [];
    let at = 0;
    while (buf.length - at >= 8) {
      const size = buf.readUInt32BE(at + 4);
      if (buf.length - at - 8 < size) break;
      const payload = buf.subarray(at + 8, at + 8 + size);
      const stream = STREAMS[buf[at]!] ?? 'stdout';
      const space = payload.indexOf(0x20);
      if (space > 0) out.push({ stream, ts: payload.subarray(0, space).toString('latin1'), data: payload.subarray(space + 1) });
      at += 8 + size;
    }
    // Copy the rest: the chunk it came from must not be kept alive by a small slice.
    this.held = at < buf.length ? Buffer.from(buf.subarray(at)) : Buffer.alloc(0);
    return out;
  }
}

/** RFC 3339 (UTC, fraction of up to 9 digits) -> nanoseconds since the epoch. */
export function timestampNanos(ts: string): bigint {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z$/.exec(ts);
  if (!m) throw new Error(`not an RFC 3339 UTC timestamp: ${ts}`);
  const seconds = BigInt(Date.parse(`${m[1]}Z`) / 1000);
  return seconds * 1_000_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
}

/**
 * Compares two RFC 3339 UTC stamps as Docker writes them (fraction of 0–9 digits, trailing zeros
 * dropped) without parsing them: the whole seconds compare as text, then the fractions padded.
 */
export function compareStamps(a: string, b: string): number {
  for (let i = 0; i < 19; i++) {
    const d = a.charCodeAt(i) - b.charCodeAt(i);
    if (d !== 0) return d;
  }
  const fa = fraction(a);
  const fb = fraction(b);
  return fa === fb ? 0 : fa < fb ? -1 : 1;
}

const fraction = (ts: string): string => (ts[19] === '.' ? ts.slice(20, -1) : '').padEnd(9, '0');

/** Nanoseconds since the epoch -> RFC 3339 (UTC, nine fraction digits), as timestampNanos reads it. */
export function nanosTimestamp(nanos: bigint): string {
  const seconds = nanos / 1_000_000_000n;
  return `${new Date(Number(seconds) * 1000).toISOString().slice(0, 19)}.${String(nanos % 1_000_000_000n).padStart(9, '0')}Z`;
}

/** The Engine's `since` query value: "<seconds>.<nanoseconds>" (it keeps output stamped at or after it). */
export function dockerSince(ts: string): string {
  const ns = timestampNanos(ts);
  return `${ns / 1_000_000_000n}.${String(ns % 1_000_000_000n).padStart(9, '0')}`;
}

export function followDockerLogs(docker: Docker, containerId: string, from: LogFollowFrom, onChunks: LogChunkSink): LogFollower {
  const abort = new AbortController();
  let stopped = false;
  let settle!: (end: LogFollowEnd) => void;
  const done = new Promise<LogFollowEnd>((resolve) => (settle = resolve));

  const run = async (): Promise<LogFollowEnd> => {
    const stream = (await docker.getContainer(containerId).logs({
      follow: true,
      stdout: true,
      stderr: true,
      timestamps: true,
      since: from.since ? dockerSince(from.since) : 0,
      abortSignal: abort.signal,
    } as Docker.ContainerLogsOptions & { follow: true; abortSignal: AbortSignal })) as unknown as NodeJS.ReadableStream & { destroy(): void };
    if (stopped) {
      stream.destroy();
      return { reason: 'stopped' };
    }
    const decoder = new FrameDecoder();
    /** Chunks that arrived while the sink was busy: at most one stream chunk, since we pause then. */
    let waiting: LogChunk[] = [];
    let busy = false;

    return new Promise<LogFollowEnd>((resolve) => {
      let ended = false;
      const finish = (end: LogFollowEnd) => {
        if (ended) return;
        ended = true;
        resolve(end);
      };
      const deliver = (chunks: LogChunk[]) => {
        let result: void | Promise<void>;
        try {
          result = onChunks(chunks);
        } catch (err) {
          stream.destroy();
          return finish({ reason: 'error', error: err as Error });
        }
        if (!result) return;
        busy = true;
        stream.pause();
        result.then(
          () => {
            busy = false;
            if (waiting.length > 0) {
              const next = waiting;
              waiting = [];
              deliver(next);
            }
            if (!busy && !stopped) {
              if (streamEnded) finish({ reason: 'ended' });
              else stream.resume();
            }
          },
          (err: unknown) => {
            stream.destroy();
            finish({ reason: 'error', error: err as Error });
          },
        );
      };
      let streamEnded = false;
      stream.on('data', (piece: Buffer) => {
        if (stopped) return;
        const chunks = decoder.push(piece);
        if (chunks.length === 0) return;
        if (busy) waiting.push(...chunks);
        else deliver(chunks);
      });
      stream.on('end', () => {
        streamEnded = true;
        if (!busy) finish({ reason: 'ended' });
      });
      stream.on('close', () => {
        if (stopped) finish({ reason: 'stopped' });
        // Closed before its end (dockerd restarted, the connection broke): not the container's end.
        else if (!streamEnded) finish({ reason: 'error', error: new Error('the log stream closed before its end') });
      });
      stream.on('error', (err: Error) => finish(stopped ? { reason: 'stopped' } : { reason: 'error', error: err }));
      abort.signal.addEventListener('abort', () => {
        stream.destroy();
        finish({ reason: 'stopped' });
      });
    });
  };

  run().then(settle, (err: unknown) => settle(stopped ? { reason: 'stopped' } : { reason: 'error', error: err as Error }));
  return {
    stop() {
      if (stopped) return;
      stopped = true;
      abort.abort();
    },
    done,
  };
}
