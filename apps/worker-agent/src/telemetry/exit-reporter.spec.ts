import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { ContainerExit, ExitWatchFrom, Runtime } from '../runtimes/runtime';
import { EXIT_CURSOR_FILE, ExitReporter } from './exit-reporter';
import { MemorySink } from './telemetry.testing';

/** A runtime whose exits the test hands over; it records where each watch started. */
class ExitsRuntime implements Pick<Runtime, 'watchExits'> {
  readonly watches: { workerId: string; from: ExitWatchFrom; stopped: boolean }[] = [];
  private onExit: ((exit: ContainerExit) => void) | undefined;

  watchExits(workerId: string, from: ExitWatchFrom, onExit: (exit: ContainerExit) => void) {
    const watch = { workerId, from, stopped: false };
    this.watches.push(watch);
    this.onExit = onExit;
    return { stop: () => void (watch.stopped = true) };
  }

  exit(containerId: string, at: string, exitCode = 3): void {
    this.onExit!({ containerId, appId: 'app-1', deploymentId: 'dep-1', exitCode, at: new Date(at) });
  }
}

const logger = pino({ level: 'silent' });
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

describe('ExitReporter', () => {
  it('sends each exit as container:exited (not droppable); once acknowledged, a restarted agent watches from its time', async () => {
    const workDir = await mkdtemp(path.join(tmpdir(), 'berth-exits-'));
    dirs.push(workDir);
    const runtime = new ExitsRuntime();
    const sink = new MemorySink(false);
    const reporter = new ExitReporter({ runtime, sink, workDir, logger });
    await reporter.start('w-1');
    await reporter.start('w-1');
    expect(runtime.watches).toEqual([{ workerId: 'w-1', from: { since: undefined }, stopped: false }]);

    runtime.exit('c1', '2026-01-01T10:00:00.000Z');
    runtime.exit('c1', '2026-01-01T10:00:00.300Z', 137);
    expect(sink.sent.map((s) => [s.kind, s.msg, s.opts?.droppable])).toEqual([
      ['container:exited', { deploymentId: 'dep-1', appId: 'app-1', containerId: 'c1', exitCode: 3, at: '2026-01-01T10:00:00.000Z' }, undefined],
      ['container:exited', { deploymentId: 'dep-1', appId: 'app-1', containerId: 'c1', exitCode: 137, at: '2026-01-01T10:00:00.300Z' }, undefined],
    ]);
    // Only the first was acknowledged when the agent stopped: the second is found again after a restart.
    sink.ack(0);
    await reporter.stop();
    expect(runtime.watches[0]!.stopped).toBe(true);
    expect(JSON.parse(await readFile(path.join(workDir, EXIT_CURSOR_FILE), 'utf8'))).toEqual({ at: '2026-01-01T10:00:00.000Z' });

    const restarted = new ExitsRuntime();
    await new ExitReporter({ runtime: restarted, sink, workDir, logger }).start('w-1');
    expect(restarted.watches[0]!.from).toEqual({ since: new Date('2026-01-01T10:00:00.000Z') });
  });

  it('a stop before the watch began leaves nothing watching', async () => {
    const workDir = await mkdtemp(path.join(tmpdir(), 'berth-exits-'));
    dirs.push(workDir);
    const runtime = new ExitsRuntime();
    const reporter = new ExitReporter({ runtime, sink: new MemorySink(), workDir, logger });
    const starting = reporter.start('w-1');
    await reporter.stop();
    await starting;
    expect(runtime.watches).toEqual([]);
  });
});
