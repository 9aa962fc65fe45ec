import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { LABELS } from '@berth/contracts';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUSYBOX_IMAGE, docker, ensureBusyboxImage, removeContainersByLabel, removeAppImages, requireDockerOrSkip, tempDir } from '../../../../../test/support/docker';
import { FIXTURE_APP_PORT, fixtureDockerfile } from '../../../../../test/support/git-fixture';
import type { FixtureBehaviour } from '../../../../../test/support/git-fixture';
import { systemClock } from '@berth/core';
import { httpProbe, timeFrom, waitUntilHealthy } from '../../health-check';
import { COMMIT_LABEL, RuntimeError, imageTag } from '../runtime';
import type { ContainerExit, StartSpec } from '../runtime';
import { APP_RESTART_POLICY, DockerRuntime } from './docker-runtime';
import { PortAllocator } from './port-allocator';

const hasDocker = requireDockerOrSkip();

/** Resolves once the container's followed output satisfies `done`. */
async function followLogsUntil(containerId: string, done: (text: string) => boolean): Promise<void> {
  const stream = (await docker.getContainer(containerId).logs({ follow: true, stdout: true, stderr: true })) as NodeJS.ReadableStream & { destroy(): void };
  await new Promise<void>((resolve, reject) => {
    let text = '';
    stream.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (done(text)) resolve();
    });
    stream.on('error', reject);
    stream.on('end', () => (done(text) ? resolve() : reject(new Error(`logs ended without the expected output: ${text}`))));
  });
  stream.destroy();
}
const logger = pino({ level: 'silent' });

describe.skipIf(!hasDocker)('DockerRuntime (real Docker Engine)', () => {
  const run = randomBytes(4).toString('hex');
  const appId = `rt-${run}`;
  const workerId = `worker-${run}`;
  const message = `hello from runtime test ${run}`;
  const runtime = new DockerRuntime({ docker, logger });
  const dirs: (() => Promise<void>)[] = [];
  const images: Partial<Record<FixtureBehaviour, string>> = {};

  /** A build context like a checkout of the fixture repo. */
  async function context(behaviour: FixtureBehaviour, dockerfile = fixtureDockerfile(behaviour)): Promise<string> {
    const { dir, remove } = await tempDir('berth-ctx-');
    dirs.push(remove);
    await writeFile(path.join(dir, 'Dockerfile'), dockerfile);
    await writeFile(path.join(dir, 'index.html'), `${message}\n`);
    return dir;
  }

  async function buildFixture(behaviour: FixtureBehaviour, lines: string[] = []): Promise<string> {
    const tag = imageTag(appId, `${behaviour}-${run}`);
    return runtime.build({ type: 'git', appId, contextDir: await context(behaviour), dockerfilePath: 'Dockerfile', tag }, (l) => lines.push(l));
  }

  function spec(image: string, deploymentId: string, extra: Partial<StartSpec> = {}): StartSpec {
    return { appId, deploymentId, jobId: `job-${deploymentId}`, workerId, image, port: FIXTURE_APP_PORT, env: { GREETING: 'hi', PORT: '1' }, memoryMb: 64, ...extra };
  }

  beforeAll(async () => {
    await ensureBusyboxImage();
    for (const b of ['healthy', 'never-listens', 'exits'] as const) images[b] = await buildFixture(b);
  });

  afterAll(async () => {
    await removeContainersByLabel(`${LABELS.app}=${appId}`);
    await removeAppImages(appId);
    await Promise.all(dirs.map((d) => d()));
  });

  it('builds through the Engine with BuildKit, streaming its steps, and tags berth-app-<appId>:<deploymentId>', async () => {
    const lines: string[] = [];
    const image = await buildFixture('healthy', lines);
    expect(image).toBe(`berth-app-${appId}:healthy-${run}`);
    // The fixture's FROM and COPY are the build's two steps (EXPOSE and CMD need none), as buildx prints them.
    expect(lines.some((l) => /^#\d+ \[1\/2\] FROM .*busybox/.test(l))).toBe(true);
    expect(lines.some((l) => /^#\d+ \[2\/2\] COPY index.html \/www\/index.html$/.test(l))).toBe(true);
    expect(lines.some((l) => /^#\d+ (DONE \d+\.\ds|CACHED)$/.test(l))).toBe(true);
    expect(lines).toContain(`Successfully tagged ${image}`);
    expect((await docker.getImage(image).inspect()).Config.ExposedPorts).toEqual({ [`${FIXTURE_APP_PORT}/tcp`]: {} });
  });

  it('builds with the classic builder when told to', async () => {
    const classic = new DockerRuntime({ docker, logger, buildkit: false });
    const lines: string[] = [];
    const image = await classic.build({ type: 'git', appId, contextDir: await context('healthy'), dockerfilePath: 'Dockerfile', tag: imageTag(appId, `classic-${run}`) }, (l) => lines.push(l));
    expect(lines).toContain(`Step 1/4 : FROM ${BUSYBOX_IMAGE}`);
    expect(lines.some((l) => l.startsWith('Step 5/'))).toBe(false);
    expect(lines).toContain(`Successfully tagged ${image}`);
  });

  it("fails a broken build with the builder's own message and the step's output", async () => {
    const dir = await context('healthy', `FROM ${BUSYBOX_IMAGE}\nRUN echo about to fail && exit 7\n`);
    const lines: string[] = [];
    const build = runtime.build({ type: 'git', appId, contextDir: dir, dockerfilePath: 'Dockerfile', tag: imageTag(appId, `broken-${run}`) }, (l) => lines.push(l));
    await expect(build).rejects.toThrow(/^build failed: .*echo about to fail.*exit code: 7$/);
    const step = lines.find((l) => l.endsWith('RUN echo about to fail && exit 7'))?.split(' ')[0];
    expect(step).toMatch(/^#\d+$/);
    expect(lines).toContain(`${step} about to fail`);
    expect(lines.some((l) => l.startsWith(`${step} ERROR: `))).toBe(true);
    await expect(runtime.build({ type: 'git', appId, contextDir: dir, dockerfilePath: '../../etc/passwd', tag: 'x' }, () => undefined)).rejects.toThrow(
      'must be a path inside the repository',
    );
  });

  it('uses an image source that is present, and fails clearly when it is absent', async () => {
    expect(await runtime.build({ type: 'image', image: BUSYBOX_IMAGE }, () => undefined)).toBe(BUSYBOX_IMAGE);
    const missing = runtime.build({ type: 'image', image: `berth-test/absent-${run}:nope` }, () => undefined);
    await expect(missing).rejects.toThrow(`image berth-test/absent-${run}:nope is not present on worker and cannot be pulled`);
  });

  it('starts the app on 127.0.0.1 only, with labels, limits, env and the restart policy', async () => {
    const { containerId, hostPort } = await runtime.start(spec(images.healthy!, 'd-serve', { cpus: 0.5, commit: 'abc123' }));
    const health = await waitUntilHealthy({ hostPort, path: '/', deadlineMs: 10_000 }, { ...timeFrom(systemClock), probe: httpProbe, containerState: () => runtime.state(containerId) });
    expect(health.healthy).toBe(true);
    const res = await fetch(`http://127.0.0.1:${hostPort}/`);
    expect(await res.text()).toContain(message);

    const info = await docker.getContainer(containerId).inspect();
    expect(info.Config.Labels).toMatchObject({
      [LABELS.app]: appId,
      [LABELS.deployment]: 'd-serve',
      [LABELS.worker]: workerId,
      [LABELS.job]: 'job-d-serve',
      [LABELS.port]: String(hostPort),
      [COMMIT_LABEL]: 'abc123',
    });
    expect(info.HostConfig.PortBindings).toEqual({ [`${FIXTURE_APP_PORT}/tcp`]: [{ HostIp: '127.0.0.1', HostPort: String(hostPort) }] });
    const published = (info.NetworkSettings.Ports as Record<string, { HostIp: string; HostPort: string }[] | null>)[`${FIXTURE_APP_PORT}/tcp`];
    expect(published).toEqual([{ HostIp: '127.0.0.1', HostPort: String(hostPort) }]);
    expect(info.HostConfig.Memory).toBe(64 * 1024 * 1024);
    expect(info.HostConfig.NanoCpus).toBe(500_000_000);
    expect(info.HostConfig.RestartPolicy?.Name).toBe('on-failure');
    expect(APP_RESTART_POLICY.Name).toBe('on-failure');
    expect(info.Config.Env).toEqual(expect.arrayContaining(['GREETING=hi', `PORT=${FIXTURE_APP_PORT}`]));
    expect(info.Config.Env).not.toContain('PORT=1');
  });

  it("lists this worker's containers by label, and no other worker's", async () => {
    const { containerId, hostPort } = await runtime.start(spec(images.healthy!, 'd-list'));
    const other = await runtime.start(spec(images.healthy!, 'd-other', { workerId: `${workerId}-other` }));
    const mine = await runtime.list(workerId);
    expect(mine.find((c) => c.containerId === containerId)).toMatchObject({ appId, deploymentId: 'd-list', jobId: 'job-d-list', workerId, hostPort, running: true });
    expect(mine.some((c) => c.containerId === other.containerId)).toBe(false);
    const all = await runtime.list();
    expect(all.some((c) => c.containerId === other.containerId)).toBe(true);
  });

  it('tails the logs of a container', async () => {
    const chatty = await runtime.start(spec(images['never-listens']!, 'd-logs'));
    // The chatty app prints two lines at boot: follow its output until they are there.
    await followLogsUntil(chatty.containerId, (text) => text.includes('still not listening'));
    const lines = await runtime.logs(chatty.containerId, 50);
    expect(lines).toEqual(['app booting, will never listen', 'still not listening']);
    expect(await runtime.logs(chatty.containerId, 1)).toEqual(['still not listening']);
  });

  describe('exits', () => {
    const seen: ContainerExit[] = [];
    let wake = () => undefined as void;
    /** Resolves once an exit matching `match` was seen (the Engine's events come in order). */
    const exitOf = (match: (e: ContainerExit) => boolean) =>
      new Promise<ContainerExit>((resolve) => {
        const check = () => {
          const found = seen.find(match);
          if (found) resolve(found);
        };
        const previous = wake;
        wake = () => {
          previous();
          check();
        };
        check();
      });
    const exitsOf = async (containerId: string, n: number) => {
      await exitOf((e) => e.containerId === containerId && seen.filter((x) => x.containerId === containerId).length >= n);
      return seen.filter((x) => x.containerId === containerId);
    };
    let watcher: { stop(): void };
    /** The first `n` waits, in ms, from a die of the container to its next start, from the Engine's events. */
    const restartWaits = async (containerId: string, since: Date, n: number): Promise<number[]> => {
      const stream = (await docker.getEvents({
        since: Math.floor(since.getTime() / 1000) - 1,
        until: Math.ceil(Date.now() / 1000) + 1,
        filters: { container: [containerId], event: ['die', 'start'] },
      })) as NodeJS.ReadableStream;
      let text = '';
      for await (const chunk of stream) text += chunk.toString();
      const events = text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { status: string; timeNano: number });
      const waits: number[] = [];
      for (let i = 0; i < events.length && waits.length < n; i++) {
        const next = events[i]!.status === 'die' ? events.slice(i + 1).find((e) => e.status === 'start') : undefined;
        if (next) waits.push((next.timeNano - events[i]!.timeNano) / 1e6);
      }
      expect(waits).toHaveLength(n);
      return waits;
    };

    beforeAll(() => {
      watcher = runtime.watchExits(workerId, {}, (exit) => {
        seen.push(exit);
        wake();
      });
    });
    afterAll(() => watcher.stop());

    it('an app that exits with an error is started again, each time after a longer wait; each exit is seen with its code', async () => {
      const { containerId } = await runtime.start(spec(images.exits!, 'd-crash'));
      const exits = await exitsOf(containerId, 5);
      expect(exits.slice(0, 4)).toEqual(Array.from({ length: 4 }, () => ({ containerId, appId, deploymentId: 'd-crash', exitCode: 3, at: expect.any(Date) })));
      // The Engine waits 100 ms, then 200, 400, 800 before restarting. Each wait is read from its own
      // die and start events (so the app's run up to its exit is not in it, though the start still is:
      // hundreds of ms, with as much jitter on a busy machine as the first step of 100 ms); the steps
      // compared are the second to the fourth, 200 and 400 ms apart.
      const waits = await restartWaits(containerId, exits[0]!.at, 4);
      expect(waits[2]!).toBeGreaterThan(waits[1]!);
      expect(waits[3]!).toBeGreaterThan(waits[2]!);
      expect(await runtime.state(containerId)).toMatchObject({ exists: true, running: true, restarts: expect.any(Number) });
      expect((await runtime.state(containerId)).restarts).toBeGreaterThanOrEqual(3);
      expect(await runtime.logs(containerId, 1)).toEqual(['fatal: missing configuration']);
      // Berth stopping it ends the loop: it stays stopped, and the stop is not an exit.
      const stoppedAt = Date.now();
      await runtime.stop(containerId, 1);
      expect(await runtime.state(containerId)).toMatchObject({ exists: true, running: false });
      const calm = await runtime.start(spec(images.healthy!, 'd-calm'));
      await runtime.stop(calm.containerId, 1);
      const removed = await runtime.start(spec(images.healthy!, 'd-removed'));
      await runtime.remove(removed.containerId);
      // A container that exits after all of that: once its exit is seen, every earlier event was read.
      const marker = await runtime.start(spec(images.exits!, 'd-marker'));
      await exitsOf(marker.containerId, 1);
      await runtime.remove(marker.containerId);
      expect(seen.filter((e) => e.deploymentId === 'd-calm' || e.deploymentId === 'd-removed')).toEqual([]);
      expect(seen.filter((e) => e.containerId === containerId && e.at.getTime() > stoppedAt)).toEqual([]);
      expect(await runtime.state(containerId)).toMatchObject({ running: false });
    });

    it('watching again from an earlier time finds the exits since then (an agent that was down)', async () => {
      const first = seen.find((e) => e.deploymentId === 'd-crash');
      expect(first).toBeDefined();
      const again: ContainerExit[] = [];
      let done!: () => void;
      const markerSeen = new Promise<void>((r) => (done = r));
      const late = runtime.watchExits(workerId, { since: first!.at }, (exit) => {
        again.push(exit);
        if (exit.deploymentId === 'd-marker') done();
      });
      await markerSeen;
      late.stop();
      const before = seen.filter((e) => e.at.getTime() >= first!.at.getTime() && e.deploymentId !== 'd-marker');
      expect(again.filter((e) => e.deploymentId !== 'd-marker')).toEqual(before);
    });

    it("stats count the restarts its restart policy made, also when read from the Engine", async () => {
      // Exits with 1 after 2 s on its first run, then serves: the container's filesystem outlives a restart.
      const once = `if [ -f /tmp/ran ]; then exec busybox httpd -f -p ${FIXTURE_APP_PORT} -h /www; else touch /tmp/ran; busybox sleep 2; exit 1; fi`;
      const dockerfile = `FROM ${BUSYBOX_IMAGE}\nCOPY index.html /www/index.html\nCMD ${JSON.stringify(['busybox', 'sh', '-c', once])}\n`;
      const image = await runtime.build({ type: 'git', appId, contextDir: await context('healthy', dockerfile), dockerfilePath: 'Dockerfile', tag: imageTag(appId, `once-${run}`) }, () => undefined);
      const engineStats = new DockerRuntime({ docker, logger, statsSource: 'engine' });
      const watcher = engineStats.watchExits(workerId, {}, () => undefined);
      try {
        const { containerId, hostPort } = await engineStats.start(spec(image, 'd-once'));
        const target = { containerId, appId, deploymentId: 'd-once' };
        expect((await engineStats.sampleStats([target]))[0]).toMatchObject({ containerId, restarts: 0 });
        await exitsOf(containerId, 1);
        const health = await waitUntilHealthy({ hostPort, path: '/', deadlineMs: 10_000 }, { ...timeFrom(systemClock), probe: httpProbe, containerState: () => engineStats.state(containerId) });
        expect(health.healthy).toBe(true);
        expect((await engineStats.sampleStats([target]))[0]).toMatchObject({ containerId, restarts: 1 });
      } finally {
        watcher.stop();
      }
    });
  });

  it('stops and removes; a container that is already gone is not an error', async () => {
    const { containerId } = await runtime.start(spec(images.healthy!, 'd-stop'));
    await runtime.stop(containerId, 1);
    expect(await runtime.state(containerId)).toMatchObject({ exists: true, running: false });
    await runtime.stop(containerId, 1);
    await runtime.remove(containerId);
    expect(await runtime.state(containerId)).toEqual({ exists: false, running: false, status: 'missing' });
    await runtime.remove(containerId);
    expect(await runtime.logs(containerId, 10)).toEqual([]);
  });

  it('publishes on another port when Docker finds the one it picked taken', async () => {
    const squatter = net.createServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    const taken = (squatter.address() as AddressInfo).port;
    try {
      // A probe that lies, so the allocator offers the taken port first and Docker has to refuse it.
      const ports = new PortAllocator({ min: taken, max: taken + 1 }, async () => true, () => 0);
      const lying = new DockerRuntime({ docker, logger, ports });
      const { hostPort } = await lying.start(spec(images.healthy!, 'd-port'));
      expect(hostPort).toBe(taken + 1);
      expect((await runtime.list(workerId)).filter((c) => c.deploymentId === 'd-port')).toHaveLength(1);
    } finally {
      squatter.close();
    }
  });

  it('fails to start with a typed error when the image does not exist', async () => {
    const start = runtime.start(spec(`berth-app-${appId}:missing`, 'd-missing'));
    await expect(start).rejects.toBeInstanceOf(RuntimeError);
    await expect(runtime.start(spec(`berth-app-${appId}:missing`, 'd-missing2'))).rejects.toThrow('is not present on worker');
  });
});
