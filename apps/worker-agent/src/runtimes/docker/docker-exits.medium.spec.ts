/**
 * Following exits across a broken connection to the Engine (what an Engine restart looks like to the
 * agent): the runtime talks to the real Engine through a socket relay the test can cut and refuse.
 * Exits while the stream was gone are found from the Engine's record; none is reported twice.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import Docker from 'dockerode';
import pino from 'pino';
import { LABELS } from '@berth/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUSYBOX_IMAGE, DOCKER_SOCKET, docker, ensureBusyboxImage, removeContainersByLabel, requireDockerOrSkip, tempDir } from '../../../../../test/support/docker';
import type { ContainerExit } from '../runtime';
import { DockerRuntime } from './docker-runtime';

const hasDocker = requireDockerOrSkip();

/** A unix-socket relay to the Engine: cut() drops every connection; while refusing, new ones are dropped at once. */
async function startRelay(socketPath: string) {
  const open = new Set<net.Socket>();
  let refusing = false;
  const server = net.createServer((client) => {
    if (refusing) return void client.destroy();
    const engine = net.connect(DOCKER_SOCKET);
    open.add(client).add(engine);
    const drop = () => {
      client.destroy();
      engine.destroy();
      open.delete(client);
      open.delete(engine);
    };
    client.on('error', drop).on('close', drop);
    engine.on('error', drop).on('close', drop);
    client.pipe(engine).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  return {
    cut(refuse: boolean) {
      refusing = refuse;
      for (const s of open) s.destroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        refusing = true;
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
}

describe.skipIf(!hasDocker)('watching exits across a lost Engine connection (real Docker Engine)', () => {
  const run = randomBytes(4).toString('hex');
  const workerId = `exits-${run}`;
  const appId = `exits-app-${run}`;
  let dir: { dir: string; remove: () => Promise<void> };
  let relay: Awaited<ReturnType<typeof startRelay>>;

  /** Runs a container of this worker that exits with `code` at once; resolves once it has. */
  async function runExiting(deploymentId: string, code: number): Promise<string> {
    const c = await docker.createContainer({
      Image: BUSYBOX_IMAGE,
      Cmd: ['busybox', 'sh', '-c', `exit ${code}`],
      Labels: { [LABELS.app]: appId, [LABELS.deployment]: deploymentId, [LABELS.worker]: workerId },
    });
    await c.start();
    await c.wait();
    return c.id;
  }

  beforeAll(async () => {
    await ensureBusyboxImage();
    dir = await tempDir('berth-engine-relay-');
    relay = await startRelay(path.join(dir.dir, 'docker.sock'));
  });
  afterAll(async () => {
    await relay?.close();
    await removeContainersByLabel(`${LABELS.worker}=${workerId}`);
    await dir?.remove();
  });

  it('follows the Engine again after the connection broke, and reports the exits it missed, each once', async () => {
    const runtime = new DockerRuntime({ docker: new Docker({ socketPath: path.join(dir.dir, 'docker.sock') }), logger: pino({ level: 'silent' }) });
    const seen: ContainerExit[] = [];
    const waiters: (() => void)[] = [];
    const watcher = runtime.watchExits(workerId, {}, (exit) => {
      seen.push(exit);
      waiters.splice(0).forEach((w) => w());
    });
    const exitOf = async (containerId: string) => {
      while (!seen.some((e) => e.containerId === containerId)) await new Promise<void>((r) => waiters.push(r));
    };
    try {
      const first = await runExiting('d-before', 5);
      await exitOf(first);

      relay.cut(true);
      const missed = await runExiting('d-while-cut', 6);
      relay.cut(false);
      await exitOf(missed);

      const after = await runExiting('d-after', 7);
      await exitOf(after);
      expect(seen.map((e) => [e.deploymentId, e.exitCode])).toEqual([
        ['d-before', 5],
        ['d-while-cut', 6],
        ['d-after', 7],
      ]);
    } finally {
      watcher.stop();
    }
  }, 30_000);
});
