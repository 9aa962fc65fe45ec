import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LogCursorStore } from './log-cursor-store';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'berth-cursors-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('LogCursorStore', () => {
  const ts = '2026-01-01T00:00:01.000000002Z';

  it('keeps a position per stream, and a stream with none stays without', async () => {
    const store = new LogCursorStore(dir);
    await store.save('c1', { seq: 7, stdout: { ts, atTs: 2 } });
    expect(await store.load('c1')).toEqual({ seq: 7, stdout: { ts, atTs: 2 } });
  });

  it('reads a cursor of the one-position form as that position for both streams', async () => {
    await writeFile(path.join(dir, 'c1.json'), JSON.stringify({ ts, atTs: 3, seq: 9 }));
    expect(await new LogCursorStore(dir).load('c1')).toEqual({ seq: 9, stdout: { ts, atTs: 3 }, stderr: { ts, atTs: 3 } });
  });

  it('reads a damaged cursor as none (the log is read from its start, duplicates dropped by seq)', async () => {
    await writeFile(path.join(dir, 'c1.json'), JSON.stringify({ seq: 4, stdout: { ts: 5 } }));
    await writeFile(path.join(dir, 'c2.json'), '{"seq":');
    const store = new LogCursorStore(dir);
    expect([await store.load('c1'), await store.load('c2')]).toEqual([undefined, undefined]);
  });
});
