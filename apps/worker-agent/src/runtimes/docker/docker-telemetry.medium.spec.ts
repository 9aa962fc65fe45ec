import { randomBytes } from 'node:crypto';
import { systemClock } from '@berth/core';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUSYBOX_IMAGE, docker, ensureBusyboxImage, removeContainersByLabel, requireDockerOrSkip, tempDir } from '../../../../../test/support/docker';
import type { LogChunk } from '../runtime';
import { timestampNanos } from './docker-logs';
import { DockerRuntime } from './docker-runtime';
import { DockerStatsSampler } from './docker-stats';

const hasDocker = requireDockerOrSkip();
const logger = pino({ level: 'silent' });
const LABEL = 'berth.test.docker-telemetry';

describe.skipIf(!hasDocker)('DockerRuntime telemetry (real Docker Engine)', () => {
  const run = randomBytes(4).toString('hex');

  beforeAll(async () => {
    await ensureBusyboxImage();
  });
  afterAll(async () => {
    await removeContainersByLabel(`${LABEL}=${run}`);
  });

  async function container(script: string, memoryMb = 64): Promise<string> {
    const c = await docker.createContainer({
      Image: BUSYBOX_IMAGE,
      Cmd: ['sh', '-c', script],
      Labels: { [LABEL]: run },
      HostConfig: { Memory: memoryMb * 1024 * 1024, Init: true, LogConfig: { Type: 'json-file', Config: {} } },
    });
    return c.id;
  }

  /** Starts it and resolves with how long it ran (start call to exit), in ms. */
  async function runToExit(id: string): Promise<number> {
    const c = docker.getContainer(id);
    const started = performance.now();
    await c.start();
    // Asked once it runs: a wait for "not-running" on a container not started yet returns at once.
    await c.wait();
    return performance.now() - started;
  }

  it('follows stdout and stderr in order, with stamps, from a given stamp (inclusive)', async () => {
    const runtime = new DockerRuntime({ docker, logger });
    const id = await container('echo one; echo two >&2; echo three');
    await runToExit(id);
    const got: LogChunk[] = [];
    const end = await runtime.followLogs(id, {}, (chunks) => void got.push(...chunks)).done;
    expect(end).toEqual({ reason: 'ended' });
    // Each stream in its order, with rising stamps. Across streams the Engine keeps no order: its two
    // copiers stamp and store stdout and stderr lines independently, so they may interleave either way.
    expect(got.filter((c) => c.stream === 'stdout').map((c) => c.data.toString())).toEqual(['one\n', 'three\n']);
    expect(got.filter((c) => c.stream === 'stderr').map((c) => c.data.toString())).toEqual(['two\n']);
    const out = got.filter((c) => c.stream === 'stdout').map((c) => timestampNanos(c.ts));
    expect(out[0]! < out[1]!).toBe(true);
    // since is inclusive: from the newest stamp, exactly the chunk that carries it.
    const newest = got.reduce((a, b) => (timestampNanos(b.ts) > timestampNanos(a.ts) ? b : a));
    const again: LogChunk[] = [];
    await runtime.followLogs(id, { since: newest.ts }, (chunks) => void again.push(...chunks)).done;
    expect(again.map((c) => c.data.toString())).toEqual([newest.data.toString()]);
  });

  it('a reader that stops reading does not slow the container down, and later gets every line', async () => {
    const runtime = new DockerRuntime({ docker, logger });
    // 40 bursts of 500 lines (30 kB) every 0.1 s: 1.2 MB, far past what socket buffers hold.
    const lines = 40 * 500;
    const script =
      'j=0; while [ $j -lt 40 ]; do j=$((j+1)); i=0; while [ $i -lt 500 ]; do i=$((i+1)); ' +
      'echo "line $j.$i of the fast writer, padded to about sixty bytes"; done; sleep 0.1; done';
    const alone = await runToExit(await container(script));

    const id = await container(script);
    const c = docker.getContainer(id);
    const started = performance.now();
    await c.start();
    const exited = c.wait();
    let release!: () => void;
    const stalled = new Promise<void>((r) => (release = r));
    let deliveries = 0;
    let received = 0;
    let held!: () => void;
    const holding = new Promise<void>((r) => (held = r));
    const follower = runtime.followLogs(id, {}, (chunks) => {
      deliveries++;
      received += chunks.length;
      // The first delivery holds the reader until the container has exited.
      if (deliveries === 1) {
        held();
        return stalled;
      }
    });
    await holding;
    await exited;
    const withStalledReader = performance.now() - started;
    // While held, nothing more was handed over: reading paused instead of buffering the output.
    expect(deliveries).toBe(1);
    expect(received).toBeLessThan(lines / 10);
    release();
    expect(await follower.done).toEqual({ reason: 'ended' });
    expect(received).toBe(lines);
    logger.info({ alone, withStalledReader }, 'fast writer timings');
    expect(withStalledReader).toBeLessThan(Math.max(3 * alone, alone + 3_000));
  }, 120_000);

  it('samples CPU, memory and its limit, pids, network and restarts, from cgroup files and from the Engine alike', async () => {
    const id = await container('while :; do :; done');
    await docker.getContainer(id).start();
    const target = { containerId: id, appId: 'app', deploymentId: 'dep' };
    const cgroup = new DockerStatsSampler({ docker, clock: systemClock, source: 'cgroup' });
    const engine = new DockerStatsSampler({ docker, clock: systemClock, source: 'engine' });
    await Promise.all([cgroup.sample([target]), engine.sample([target])]);
    await new Promise((r) => setTimeout(r, 1_500));
    const [[fromFiles], [fromEngine]] = await Promise.all([cgroup.sample([target]), engine.sample([target])]);
    expect(cgroup.cgroupReadable).toBe(1);
    expect(engine.cgroupReadable).toBe(0);
    for (const s of [fromFiles!, fromEngine!]) {
      expect(s).toMatchObject({ containerId: id, appId: 'app', deploymentId: 'dep', memoryLimitBytes: 64 * 1024 * 1024, restarts: 0 });
      expect(s.cpuPercent).toBeGreaterThan(10); // a busy loop, on a shared machine
      expect(s.memoryBytes).toBeGreaterThan(0);
      expect(s.memoryBytes).toBeLessThan(64 * 1024 * 1024);
      expect(s.pids).toBeGreaterThanOrEqual(2); // the init and the shell
      expect(s.netRxBytes).toBeGreaterThanOrEqual(0);
    }
    expect(Math.abs(fromFiles!.memoryBytes - fromEngine!.memoryBytes)).toBeLessThan(4 * 1024 * 1024);
    expect((await cgroup.sample([{ ...target, restarts: 3 }]))[0]!.restarts).toBe(3);
    await docker.getContainer(id).remove({ force: true });
    expect(await cgroup.sample([target])).toEqual([]);
  });

  it('falls back to the Engine for a container whose cgroup files it cannot read', async () => {
    const { dir, remove } = await tempDir('berth-noproc-');
    try {
      const id = await container('sleep 30');
      await docker.getContainer(id).start();
      const sampler = new DockerStatsSampler({ docker, clock: systemClock, source: 'auto', procRoot: dir });
      const [s] = await sampler.sample([{ containerId: id, appId: 'a', deploymentId: 'd' }]);
      expect(sampler.cgroupReadable).toBe(0);
      expect(s).toMatchObject({ containerId: id, memoryLimitBytes: 64 * 1024 * 1024 });
      expect(s!.pids).toBeGreaterThanOrEqual(2);
    } finally {
      await remove();
    }
  });
});
