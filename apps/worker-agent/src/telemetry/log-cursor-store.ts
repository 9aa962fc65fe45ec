/**
 * Where each container's log shipping stopped, kept in the agent's work dir so a restarted agent
 * resumes exactly there. One small JSON file per container, replaced atomically (write a temp
 * file, fsync, rename, fsync the directory): a crash leaves the old cursor or the new one, never half.
 */
import { mkdir, open, readFile, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';

/**
 * Everything of one stream up to and including its `atTs`-th output chunk stamped `ts` (the
 * runtime's stamp, RFC 3339 with nanoseconds) has been shipped. Counting chunks at the stamp tells
 * apart output written within one clock tick, which a timestamp alone cannot.
 */
export interface StreamPosition {
  ts: string;
  atTs: number;
}

/**
 * Where a container's log shipping stopped: the last seq handed out and, per stream, the position
 * reached. Per stream, because Docker stamps each stream as it reads it and writes both into one
 * file: within a stream the stamps only grow, across the two a chunk may land after one stamped later.
 * A stream with no position had no output before the cursor.
 */
export interface LogCursor {
  seq: number;
  stdout?: StreamPosition;
  stderr?: StreamPosition;
}

const isPosition = (p: unknown): p is StreamPosition => {
  const v = p as StreamPosition;
  return typeof v?.ts === 'string' && Number.isInteger(v.atTs) && v.atTs >= 0;
};

/** A stored cursor; the earlier one-position form ({ts, atTs, seq}) stands for both streams. */
function toCursor(v: unknown): LogCursor | undefined {
  const c = v as LogCursor & Partial<StreamPosition>;
  if (!Number.isInteger(c?.seq) || c.seq < 0) return undefined;
  if (isPosition(c)) return { seq: c.seq, stdout: { ts: c.ts, atTs: c.atTs }, stderr: { ts: c.ts, atTs: c.atTs } };
  if ((c.stdout !== undefined && !isPosition(c.stdout)) || (c.stderr !== undefined && !isPosition(c.stderr))) return undefined;
  return { seq: c.seq, ...(c.stdout ? { stdout: c.stdout } : {}), ...(c.stderr ? { stderr: c.stderr } : {}) };
}

const SAFE_ID = /^[A-Za-z0-9_.-]{1,128}$/;

export class LogCursorStore {
  /** Per container: the write in flight, and the newest cursor waiting to be written after it. */
  private readonly writing = new Map<string, Promise<void>>();
  private readonly next = new Map<string, LogCursor>();

  constructor(private readonly dir: string) {}

  private file(containerId: string): string {
    if (!SAFE_ID.test(containerId)) throw new Error(`not a container id: ${containerId}`);
    return path.join(this.dir, `${containerId}.json`);
  }

  async load(containerId: string): Promise<LogCursor | undefined> {
    try {
      return toCursor(JSON.parse(await readFile(this.file(containerId), 'utf8')));
    } catch {
      return undefined;
    }
  }

  /** Containers with a stored cursor. */
  async list(): Promise<string[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    return names.filter((n) => n.endsWith('.json')).map((n) => n.slice(0, -'.json'.length));
  }

  /** Stores the cursor; writes of one container never overlap, and only the newest waiting one is written. */
  save(containerId: string, cursor: LogCursor): Promise<void> {
    this.next.set(containerId, cursor);
    const inFlight = this.writing.get(containerId);
    if (inFlight) return inFlight.then(() => this.writing.get(containerId));
    const run = (async () => {
      for (let c = this.next.get(containerId); c; c = this.next.get(containerId)) {
        this.next.delete(containerId);
        await this.write(containerId, c);
      }
    })().finally(() => this.writing.delete(containerId));
    this.writing.set(containerId, run);
    return run;
  }

  async remove(containerId: string): Promise<void> {
    this.next.delete(containerId);
    await this.writing.get(containerId)?.catch(() => undefined);
    await rm(this.file(containerId), { force: true });
  }

  /** Resolves once every save so far is on disk. */
  async settled(): Promise<void> {
    while (this.writing.size > 0) await Promise.allSettled([...this.writing.values()]);
  }

  private async write(containerId: string, cursor: LogCursor): Promise<void> {
    await writeFileAtomic(this.dir, this.file(containerId), JSON.stringify(cursor));
  }
}

/** Replaces `target` (a file in `dir`) atomically: temp file, fsync, rename, fsync the directory. */
export async function writeFileAtomic(dir: string, target: string, text: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const temp = `${target}.tmp`;
  const handle = await open(temp, 'w');
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, target);
  const dirHandle = await open(dir, 'r');
  try {
    await dirHandle.sync();
  } finally {
    await dirHandle.close();
  }
}
