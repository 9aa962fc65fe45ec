/**
 * The agent process with telemetry wired in, against a stand-in control plane and a real Docker
 * Engine: a container of this worker (adopted: the agent did not start it) has its lines shipped
 * and its stats sent; after an agent restart its log continues with the next seq.
 */
import { randomBytes } from 'node:crypto';
import type { AgentConfig } from '@berth/config';
import { LABELS } from '@berth/contracts';
import type { LogLinesMsg, StatsSnapshotsMsg } from '@berth/contracts';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUSYBOX_IMAGE, docker, ensureBusyboxImage, removeContainersByLabel, requireDockerOrSkip, tempDir } from '../../../../test/support/docker';
import { startAgent } from '../agent';
import type { RunningAgent } from '../agent';
import { startFakeControlPlane } from '../connection/fake-control-plane.testing';
import type { FakeControlPlane } from '../connection/fake-control-plane.testing';

const hasDocker = requireDockerOrSkip();

describe.skipIf(!hasDocker)('agent telemetry wiring (real Docker, stand-in control plane)', () => {
  const run = randomBytes(4).toString('hex');
  const token = `token-${run}`;
  const workerId = `w-${run}`;
  const appId = `tel-${run}`;
  let work: { dir: string; remove: () => Promise<void> };
  let cp: FakeControlPlane;
  let agent: RunningAgent | undefined;

  const config = (): AgentConfig => ({
    url: `http://127.0.0.1:${cp.port}`,
    workerToken: token,
    advertiseIp: '127.0.0.1',
    capacityMemoryMb: 2048,
    capacityCpus: 2,
    healthCheckDeadlineMs: 15_000,
    workDir: work.dir,
    logBufferBytes: 64 * 1024 * 1024,
    logLevel: 'silent',
    statsIntervalMs: 300,
  });

  beforeAll(async () => {
    await ensureBusyboxImage();
    work = await tempDir('berth-agent-telemetry-');
    cp = await startFakeControlPlane({ token, worker: { workerId, name: 'telemetry-test' } });
  });
  afterAll(async () => {
    await agent?.stop();
    await cp?.close();
    await removeContainersByLabel(`${LABELS.app}=${appId}`);
    await work?.remove();
  });

  it('ships the logs and stats of this worker’s containers, and continues the log after a restart', async () => {
    const c = await docker.createContainer({
      Image: BUSYBOX_IMAGE,
      Cmd: ['sh', '-c', 'echo "\u001b[32mstarted\u001b[0m"; read line; echo "after restart"; sleep 600'],
      OpenStdin: true,
      Labels: { [LABELS.app]: appId, [LABELS.deployment]: `dep-${run}`, [LABELS.worker]: workerId, [LABELS.job]: `job-${run}`, [LABELS.port]: '1' },
      HostConfig: { Init: true, Memory: 32 * 1024 * 1024 },
    });
    await c.start();
    agent = await startAgent(config(), pino({ level: 'silent' }));
    const lines = (await cp.waitFor((r) => r.event === 'logs:lines' && r.msg.containerId === c.id)).msg as unknown as LogLinesMsg;
    expect(lines).toMatchObject({ containerId: c.id, appId, deploymentId: `dep-${run}` });
    expect(lines.lines.map((l) => [l.seq, l.stream, l.text])).toEqual([[1, 'stdout', 'started']]);
    const stats = (await cp.waitFor((r) => r.event === 'stats:snapshots' && (r.msg as unknown as StatsSnapshotsMsg).containers.length > 0)).msg as unknown as StatsSnapshotsMsg;
    expect(stats.containers).toEqual([expect.objectContaining({ containerId: c.id, appId, memoryLimitBytes: 32 * 1024 * 1024, restarts: 0 })]);

    await agent.stop();
    agent = undefined;
    // Written while no agent runs.
    const stdin = (await c.attach({ stream: true, stdin: true, hijack: true })) as NodeJS.WritableStream & { end(): void };
    stdin.write('go\n');
    stdin.end();
    const mark = cp.received.length;
    agent = await startAgent(config(), pino({ level: 'silent' }));
    const next = (await cp.waitFor((r) => r.event === 'logs:lines' && r.msg.containerId === c.id, mark)).msg as unknown as LogLinesMsg;
    expect(next.lines.map((l) => [l.seq, l.text])).toEqual([[2, 'after restart']]);
  }, 60_000);
});
