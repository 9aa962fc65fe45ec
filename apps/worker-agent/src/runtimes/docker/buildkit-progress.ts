/**
 * BuildKit's build progress, as the Engine streams it: `{"id":"moby.buildkit.trace","aux":"<base64>"}`,
 * each a protobuf moby.buildkit.v1.StatusResponse. Decoded here by hand (only the fields shown to a
 * person) and turned into the lines `docker buildx build --progress=plain` prints: `#3 [2/4] COPY . /app`,
 * then that step's output, `#3 CACHED` or `#3 DONE 0.4s`, or `#3 ERROR: …`. Pure functions over bytes.
 */

/** The `id` of a BuildKit progress event in the Engine's build stream. */
export const BUILDKIT_TRACE_ID = 'moby.buildkit.trace';

export interface BuildVertex {
  digest: string;
  name: string;
  cached: boolean;
  /** Milliseconds since the epoch. */
  started?: number;
  completed?: number;
  error?: string;
}

export interface BuildStatus {
  vertexes: BuildVertex[];
  logs: { vertex: string; data: Buffer }[];
  warnings: { vertex: string; text: string }[];
}

type Field = { no: number; varint?: number; bytes?: Buffer };

/** The top-level fields of one protobuf message (varints as numbers, length-delimited as bytes). */
function fields(buf: Buffer): Field[] {
  const out: Field[] = [];
  let pos = 0;
  const varint = (): number => {
    let value = 0;
    let scale = 1;
    for (;;) {
      if (pos >= buf.length) throw new Error('truncated varint');
      const byte = buf[pos++];
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
      scale *= 128;
    }
  };
  while (pos < buf.length) {
    const key = varint();
    const no = Math.floor(key / 8);
    switch (key % 8) {
      case 0:
        out.push({ no, varint: varint() });
        break;
      case 1:
        pos += 8;
        break;
      case 2: {
        const len = varint();
        if (pos + len > buf.length) throw new Error('truncated field');
        out.push({ no, bytes: buf.subarray(pos, pos + len) });
        pos += len;
        break;
      }
      case 5:
        pos += 4;
        break;
      default:
        throw new Error(`unsupported wire type ${key % 8}`);
    }
  }
  return out;
}

const text = (f: Field | undefined) => f?.bytes?.toString('utf8') ?? '';

/** google.protobuf.Timestamp to epoch milliseconds. */
function timestamp(f: Field | undefined): number | undefined {
  if (!f?.bytes) return undefined;
  const ts = fields(f.bytes);
  return (ts.find((t) => t.no === 1)?.varint ?? 0) * 1000 + Math.floor((ts.find((t) => t.no === 2)?.varint ?? 0) / 1e6);
}

/** One StatusResponse: vertexes = 1, (statuses = 2, skipped), logs = 3, warnings = 4. */
export function decodeBuildStatus(buf: Buffer): BuildStatus {
  const status: BuildStatus = { vertexes: [], logs: [], warnings: [] };
  for (const f of fields(buf)) {
    if (!f.bytes) continue;
    const sub = fields(f.bytes);
    const one = (no: number) => sub.find((s) => s.no === no);
    if (f.no === 1) {
      const error = text(one(7));
      status.vertexes.push({ digest: text(one(1)), name: text(one(3)), cached: (one(4)?.varint ?? 0) !== 0, started: timestamp(one(5)), completed: timestamp(one(6)), ...(error ? { error } : {}) });
    } else if (f.no === 3) {
      status.logs.push({ vertex: text(one(1)), data: one(4)?.bytes ?? Buffer.alloc(0) });
    } else if (f.no === 4) {
      status.warnings.push({ vertex: text(one(1)), text: text(one(3)) });
    }
  }
  return status;
}

/**
 * Turns a build's successive statuses into display lines, numbering steps in the order they appear
 * and saying each step's name, end and output once.
 */
export class BuildkitProgress {
  private readonly numbers = new Map<string, number>();
  private readonly named = new Set<string>();
  private readonly ended = new Set<string>();
  /** Per step, output not yet ended by a newline. */
  private readonly partial = new Map<string, string>();

  /** Lines for one `aux` of a trace event (base64); an undecodable one gives none. */
  lines(aux: string): string[] {
    let status: BuildStatus;
    try {
      status = decodeBuildStatus(Buffer.from(aux, 'base64'));
    } catch {
      return [];
    }
    const out: string[] = [];
    for (const v of status.vertexes) {
      if (v.name && !this.named.has(v.digest) && (v.started !== undefined || v.cached)) {
        this.named.add(v.digest);
        out.push(`#${this.number(v.digest)} ${v.name}`);
      }
    }
    for (const log of status.logs) {
      const n = this.number(log.vertex);
      const pieces = ((this.partial.get(log.vertex) ?? '') + log.data.toString('utf8')).split('\n');
      this.partial.set(log.vertex, pieces.pop() ?? '');
      for (const p of pieces) if (p.replace(/\r/g, '').trim()) out.push(`#${n} ${p.replace(/\r/g, '').trimEnd()}`);
    }
    for (const v of status.vertexes) {
      if (this.ended.has(v.digest)) continue;
      const n = this.number(v.digest);
      if (v.error) {
        out.push(...this.flush(v.digest), `#${n} ERROR: ${v.error}`);
        this.ended.add(v.digest);
      } else if (v.cached && v.completed !== undefined) {
        out.push(`#${n} CACHED`);
        this.ended.add(v.digest);
      } else if (v.completed !== undefined) {
        const secs = v.started !== undefined ? ` ${((v.completed - v.started) / 1000).toFixed(1)}s` : '';
        out.push(...this.flush(v.digest), `#${n} DONE${secs}`);
        this.ended.add(v.digest);
      }
    }
    for (const w of status.warnings) out.push(`#${this.number(w.vertex)} WARNING: ${w.text}`);
    return out;
  }

  private number(digest: string): number {
    let n = this.numbers.get(digest);
    if (n === undefined) {
      n = this.numbers.size + 1;
      this.numbers.set(digest, n);
    }
    return n;
  }

  private flush(digest: string): string[] {
    const rest = (this.partial.get(digest) ?? '').replace(/\r/g, '').trimEnd();
    this.partial.delete(digest);
    return rest.trim() ? [`#${this.number(digest)} ${rest}`] : [];
  }
}
