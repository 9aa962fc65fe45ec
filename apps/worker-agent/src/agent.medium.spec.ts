/**
 * The whole agent (config -> Docker runtime, git, job runner, connection) against a stand-in
 * control plane: deploy over the wire, stop the agent (the app keeps serving), start it again
 * (hello names the container; the re-sent job adopts it instead of starting a duplicate); the app's
 * crashes are reported, also one that happened while the agent was down.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import type { AgentConfig } from '@berth/config';
import { LABELS } from '@berth/contracts';
import type { AdoptedContainer, JobSpec } from '@berth/contracts';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker, ensureBusyboxImage, removeContainersByLabel, removeAppImages, requireDockerOrSkip, tempDir } from '../../../test/support/docker';
import { FIXTURE_APP_PORT, createAppRepo } from '../../../test/support/git-fixture';
import type { AppRepo } from '../../../test/support/git-fixture';
import { startAgent } from './agent';
import type { RunningAgent } from './agent';
import { startFakeControlPlane } from './connection/fake-control-plane.testing';
import type { FakeControlPlane } from './connection/fake-control-plane.testing';

const hasDocker = requireDockerOrSkip();

/**
 * Ends the app from inside its container (SIGTERM to every process but the init and the caller): the
 * app dies of it and the container exits with 143, without anybody stopping the container.
 */
async function crashApp(containerId: string): Promise<void> {
  // The exec may be cut off by the very exit it causes; what counts is the exit, awaited by the caller.
  await promisify(execFile)('docker', ['exec', containerId, 'busybox', 'kill', '-TERM', '-1']).catch(() => undefined);
}

describe.skipIf(!hasDocker)('worker agent process wiring (real Docker, stand-in control plane)', () => {
  const run = randomBytes(4).toString('hex');
  const appId = `ag-${run}`;
  const token = `token-${run}`;
  let repo: AppRepo;
  let work: { dir: string; remove: () => Promise<void> };
  let cp: FakeControlPlane;
  let agent: RunningAgent | undefined;

  const config = (): AgentConfig => ({
    url: `http://127.0.0.1:${cp.port}`,
    workerToken: token,
    advertiseIp: '127.0.0.1',
    capacityMemoryMb: 2048,
    logBufferBytes: 64 * 1024 * 1024,
    capacityCpus: 2,
    healthCheckDeadlineMs: 15_000,
    workDir: work.dir,
    logLevel: 'silent',
  });
  const job = (): JobSpec => ({
    jobId: `job-${run}`,
    deploymentId: `dep-${run}`,
    appId,
    app: { name: appId, source: { type: 'git', repoUrl: repo.url, branch: 'main' }, port: FIXTURE_APP_PORT, memoryMb: 64 },
  });

  beforeAll(async () => {
    await ensureBusyboxImage();
    repo = await createAppRepo({ message: `agent ${run}` });
    work = await tempDir('berth-agent-');
    cp = await startFakeControlPlane({ token, worker: { workerId: `w-${run}`, name: 'agent-test' } });
  });

  afterAll(async () => {
    await agent?.stop();
    await cp?.close();
    await removeContainersByLabel(`${LABELS.app}=${appId}`);
    await removeAppImages(appId);
    await repo?.remove();
    await work?.remove();
  });

  it('deploys a job sent over the wire, keeps the app serving after it stops, and adopts it after a restart', async () => {
    agent = await startAgent(config(), pino({ level: 'silent' }));
    await cp.waitFor((r) => r.event === 'hello');
    expect(await cp.sendJob(job())).toEqual({ accepted: true });
    const succeeded = await cp.waitFor((r) => r.event === 'job:succeeded' && r.msg.jobId === job().jobId);
    const { containerId, hostPort } = succeeded.msg as { containerId: string; hostPort: number };
    expect(await (await fetch(`http://127.0.0.1:${hostPort}/`)).text()).toBe(`agent ${run}\n`);
    const beat = await cp.waitFor((r) => r.event === 'heartbeat' && r.msg.runningContainers === 1);
    expect(beat.msg).toMatchObject({ capacity: { memoryMb: 2048, cpus: 2 } });

    await agent.stop();
    agent = undefined;
    expect(await (await fetch(`http://127.0.0.1:${hostPort}/`)).text()).toBe(`agent ${run}\n`);

    const mark = cp.received.length;
    agent = await startAgent(config(), pino({ level: 'silent' }));
    const hello = await cp.waitFor((r) => r.event === 'hello', mark);
    const adopted: AdoptedContainer = { appId, deploymentId: job().deploymentId, containerId, hostPort, running: true };
    // The worker id remembered from the first run: hello names this worker's containers only.
    expect(hello.msg.containers).toEqual([adopted]);
    expect(await cp.sendJob(job())).toEqual({ accepted: true });
    const again = await cp.waitFor((r) => r.event === 'job:succeeded', mark);
    expect(again.msg).toEqual({ jobId: job().jobId, containerId, hostPort });
    const containers = await docker.listContainers({ all: true, filters: { label: [`${LABELS.app}=${appId}`] } });
    expect(containers.map((c) => c.Id)).toEqual([containerId]);
  }, 60_000);

  it('reports each crash of the app with its exit code, also one while the agent was down; the Engine restarts it', async () => {
    expect(agent).toBeDefined();
    const deploymentId = job().deploymentId;
    const [container] = await docker.listContainers({ filters: { label: [`${LABELS.app}=${appId}`] } });
    const containerId = container!.Id;
    const exitOf = (from: number) => cp.waitFor((r) => r.event === 'container:exited' && r.msg.containerId === containerId, from);

    let mark = cp.received.length;
    await crashApp(containerId);
    const first = await exitOf(mark);
    expect(first.msg).toEqual({ deploymentId, appId, containerId, exitCode: 143, at: expect.any(String) });

    await agent!.stop();
    agent = undefined;
    await waitRestarted(containerId, 1);
    await crashApp(containerId);
    await waitRestarted(containerId, 2);
    mark = cp.received.length;
    agent = await startAgent(config(), pino({ level: 'silent' }));
    const missed = await cp.waitFor((r) => r.event === 'container:exited' && r.msg.at !== first.msg.at, mark);
    expect(missed.msg).toMatchObject({ deploymentId, containerId, exitCode: 143 });
    expect(Date.parse(missed.msg.at as string)).toBeGreaterThan(Date.parse(first.msg.at as string));
    expect((await docker.getContainer(containerId).inspect()).State.Running).toBe(true);
  }, 60_000);
});

/** Resolves once the Engine restarted the container `n` times and it runs again. */
async function waitRestarted(containerId: string, n: number): Promise<void> {
  for (;;) {
    const info = await docker.getContainer(containerId).inspect();
    if (info.RestartCount >= n && info.State.Running && !info.State.Restarting) return;
    // The Engine tells no one when a restart finishes; look again shortly.
    await new Promise((r) => setTimeout(r, 100));
  }
}
