/**
 * Remembers which worker this agent is (the hello reply's workerId), keyed by the worker token, so
 * that after a restart the hello already names only this worker's containers.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

export class WorkerIdentity {
  private readonly file: string;

  constructor(workDir: string, token: string) {
    const key = createHash('sha256').update(token).digest('hex').slice(0, 16);
    this.file = path.join(workDir, `worker-${key}.json`);
  }

  async load(): Promise<string | undefined> {
    try {
      const data = JSON.parse(await readFile(this.file, 'utf8')) as { workerId?: unknown };
      return typeof data.workerId === 'string' && data.workerId ? data.workerId : undefined;
    } catch {
      return undefined;
    }
  }

  async save(workerId: string): Promise<void> {
    await mkdir(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify({ workerId }));
    await rename(tmp, this.file);
  }
}
