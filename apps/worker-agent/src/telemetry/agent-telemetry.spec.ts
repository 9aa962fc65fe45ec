import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FakeClock, noopLogger } from '@berth/core';
import type { ContainerStatsSample, StatsSnapshotsMsg } from '@berth/contracts';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Runtime, StatsTarget } from '../runtimes/runtime';
import { AgentTelemetry } from './agent-telemetry';
import { MemorySink, ScriptedRuntime, chunk, runtimeContainer } from './telemetry.testing';

let workDir: string;
beforeEach(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), 'berth-telemetry-'));
});
afterEach(async () => {
  await rm(workDir, { recursive: true, force: true });
});

function sample(t: StatsTarget): ContainerStatsSample {
  return { ...t, cpuPercent: 1, memoryBytes: 2, memoryLimitBytes: 3, netRxBytes: 4, netTxBytes: 5, blockReadBytes: 6, blockWriteBytes: 7, pids: 8, restarts: t.restarts ?? 0 };
}

function telemetry(runtime: ScriptedRuntime, clock: FakeClock, sink: MemorySink, restarts?: (id: string) => number | undefined) {
  return new AgentTelemetry({
    runtime: runtime as unknown as Runtime,
    sink,
    clock,
    logger: noopLogger,
    workDir,
    workerId: () => 'w1',
    statsIntervalMs: 5_000,
    restarts,
    shipper: { cursorSaveIntervalMs: 1_000 },
  });
}

/** Waits for the tick in progress (if any), and lets the file work it started (cursor loads) finish. */
async function settle(t: AgentTelemetry): Promise<void> {
  await t.idle();
  await vi.waitFor(() => expect((t.shipper as unknown as { starting: Map<string, unknown> }).starting.size).toBe(0));
}

describe('AgentTelemetry', () => {
  it('sends one stats:snapshots message per tick with every running app container', async () => {
    const clock = new FakeClock('2026-03-01T00:00:00Z');
    const sink = new MemorySink();
    const runtime = new ScriptedRuntime();
    runtime.containers.push(runtimeContainer('c1'), runtimeContainer('c2'), runtimeContainer('c3', false));
    runtime.samples = async (targets) => targets.map(sample);
    const t = telemetry(runtime, clock, sink, (id) => (id === 'c2' ? 4 : undefined));
    t.start();
    await settle(t);
    await clock.tick(5_000);
    await settle(t);
    const stats = sink.sent.filter((s) => s.kind === 'stats:snapshots').map((s) => s.msg as StatsSnapshotsMsg);
    expect(stats.map((m) => m.sampledAt)).toEqual(['2026-03-01T00:00:00.000Z', '2026-03-01T00:00:05.000Z']);
    expect(stats[1]!.containers.map((c) => [c.containerId, c.restarts])).toEqual([
      ['c1', 0],
      ['c2', 4],
    ]);
    await t.stop();
  });

  it('skips a tick while the previous one is still sampling', async () => {
    const clock = new FakeClock();
    const sink = new MemorySink();
    const runtime = new ScriptedRuntime();
    runtime.containers.push(runtimeContainer('c1'));
    let release!: () => void;
    runtime.samples = (targets) => new Promise((r) => (release = () => r(targets.map(sample))));
    const t = telemetry(runtime, clock, sink);
    const first = t.sampler.tick([{ containerId: 'c1', appId: 'a', deploymentId: 'd' }]);
    expect(await t.sampler.tick([])).toBeUndefined();
    release();
    await first;
    expect(t.counters.skippedStatsTicks).toBe(1);
    expect(sink.sent.filter((s) => s.kind === 'stats:snapshots')).toHaveLength(1);
  });

  it('follows adopted containers, and after an agent restart resumes exactly where it stopped', async () => {
    const clock = new FakeClock();
    const sink = new MemorySink();
    const runtime = new ScriptedRuntime();
    runtime.containers.push(runtimeContainer('c1'));
    runtime.write('c1', [chunk('stdout', 1, 'one\n'), chunk('stdout', 1, 'two\n'), chunk('stderr', 2, 'three\n')]);
    const first = telemetry(runtime, clock, sink);
    first.start();
    await settle(first);
    runtime.write('c1', [chunk('stdout', 2, 'four\n')]);
    await first.stop(); // flushes and writes the cursor
    runtime.write('c1', [chunk('stdout', 2, 'five\n'), chunk('stdout', 3, 'six\n')]); // while no agent runs

    const second = telemetry(runtime, clock, sink);
    second.start();
    await settle(second);
    expect(runtime.followers.get('c1')?.from.since).toBe(chunk('stdout', 2, '').ts);
    await clock.tick(250);
    await second.stop();
    expect(sink.logLines('c1').map((l) => [l.seq, l.text])).toEqual([
      [1, 'one'],
      [2, 'two'],
      [3, 'three'],
      [4, 'four'],
      [5, 'five'],
      [6, 'six'],
    ]);
  });

  it('forgets a removed container: stops following it and deletes its cursor', async () => {
    const clock = new FakeClock();
    const sink = new MemorySink();
    const runtime = new ScriptedRuntime();
    runtime.containers.push(runtimeContainer('c1'), runtimeContainer('c2'));
    runtime.write('c1', [chunk('stdout', 1, 'x\n')]);
    runtime.write('c2', [chunk('stdout', 1, 'y\n')]);
    const t = telemetry(runtime, clock, sink);
    t.start();
    await settle(t);
    await clock.tick(1_500);
    await vi.waitFor(async () => expect((await readdir(path.join(workDir, 'log-cursors'))).sort()).toEqual(['c1.json', 'c2.json']));
    runtime.containers.splice(0, 1);
    await clock.tick(5_000);
    await settle(t);
    await vi.waitFor(() => expect(t.shipper.followed).toEqual(['c2']));
    expect(await readdir(path.join(workDir, 'log-cursors'))).toEqual(['c2.json']);
    await t.stop();
  });

  it('reads a container that stopped to its end once, its last unterminated line included', async () => {
    const clock = new FakeClock();
    const sink = new MemorySink();
    const runtime = new ScriptedRuntime();
    runtime.containers.push(runtimeContainer('c1'));
    const t = telemetry(runtime, clock, sink);
    t.start();
    await settle(t);
    runtime.write('c1', [chunk('stdout', 1, 'bye\npartial')]);
    runtime.containers[0] = runtimeContainer('c1', false);
    runtime.followers.get('c1')!.end();
    await settle(t);
    await clock.tick(5_000);
    await settle(t);
    expect(sink.logLines('c1').map((l) => l.text)).toEqual(['bye', 'partial']);
    expect(runtime.followers.has('c1')).toBe(false);
    await t.stop();
  });
});
