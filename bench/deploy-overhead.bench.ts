/**
 * Berth's deploy of the test repository against a bare `git clone` + `docker build` + `docker run` +
 * wait-for-HTTP of the same repository, alternated in one run on a warm build cache.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createAppRepo, pushCommit } from '../test/support/git-fixture';
import { startPlatform } from './support/platform';
import type { BenchRow } from './support/table';

const exec = promisify(execFile);
const BARE_TAG = 'berth-bench-bare:latest';
const ROUNDS = Number(process.env.BERTH_BENCH_DEPLOY_ROUNDS ?? 7);

/** Both sides are watched at the same cadence: the bare app over HTTP, Berth's deployment over its API. */
const POLL_MS = 25;

async function waitHttp(url: string, expect: string, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (const delay = POLL_MS; Date.now() < until; ) {
    try {
      if ((await (await fetch(url)).text()).includes(expect)) return;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, delay));
  }
  throw new Error(`${url} never served ${expect}`);
}

/** The baseline a person would script by hand. */
async function bareDeploy(repoUrl: string, message: string): Promise<number> {
  const started = performance.now();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'berth-bare-'));
  const tag = BARE_TAG;
  try {
    await exec('git', ['clone', '-q', '--depth', '1', repoUrl, dir]);
    await exec('docker', ['build', '-q', '-t', tag, dir]);
    const { stdout } = await exec('docker', ['run', '-d', '--label', 'berth.bench=bare', '-p', '127.0.0.1::8080', tag]);
    const id = stdout.trim();
    const port = (await exec('docker', ['port', id, '8080/tcp'])).stdout.trim().split('\n')[0].split(':').pop();
    await waitHttp(`http://127.0.0.1:${port}/`, message);
    const elapsed = performance.now() - started;
    await exec('docker', ['rm', '-f', id]);
    return elapsed;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function run(): Promise<BenchRow[]> {
  const platform = await startPlatform();
  // One repository per path, each given its own new commit every round: both build the same amount
  // (the base layers cached, the changed COPY and the steps after it not). With one shared
  // repository, whichever path built second would reuse the other's fresh layers.
  const berthRepo = await createAppRepo({ message: 'bench warm-up (berth)' });
  const bareRepo = await createAppRepo({ message: 'bench warm-up (bare)' });
  try {
    const app = await platform.api('/api/apps', { json: { name: 'bench-deploy', source: { type: 'git', repoUrl: berthRepo.url, branch: 'main' }, port: 8080, memoryMb: 64 } });
    const deployOnce = async () => {
      const started = performance.now();
      const d = await platform.api(`/api/apps/${app.body.id}/deployments`, { method: 'POST' });
      const done = await platform.waitDeployment(d.body.id, 180_000, POLL_MS);
      if (done.status !== 'succeeded') throw new Error(`bench deploy failed: ${done.reason}`);
      return performance.now() - started;
    };
    // Warm the base image cache and both code paths.
    await deployOnce();
    await bareDeploy(bareRepo.url, 'bench warm-up (bare)');
    const berth: number[] = [];
    const bare: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      await pushCommit(berthRepo, `berth round ${i}`);
      const bareMessage = `bare round ${i}`;
      await pushCommit(bareRepo, bareMessage);
      if (i % 2 === 0) {
        berth.push(await deployOnce());
        bare.push(await bareDeploy(bareRepo.url, bareMessage));
      } else {
        bare.push(await bareDeploy(bareRepo.url, bareMessage));
        berth.push(await deployOnce());
      }
    }
    const ratio = median(berth) / median(bare);
    return [
      { benchmark: 'deploy overhead', metric: 'Berth deploy, median', value: median(berth), unit: 'ms', note: `${ROUNDS} alternated rounds, warm base cache, new commit each` },
      { benchmark: 'deploy overhead', metric: 'bare clone+build+run+wait, median', value: median(bare), unit: 'ms' },
      { benchmark: 'deploy overhead', metric: 'ratio Berth / bare', value: ratio, unit: 'x', goal: '<= 1.15' },
    ];
  } finally {
    await platform.close();
    await exec('docker', ['ps', '-aq', '--filter', 'label=berth.bench=bare']).then(async ({ stdout }) => {
      const ids = stdout.split('\n').filter(Boolean);
      if (ids.length) await exec('docker', ['rm', '-f', ...ids]);
    });
    await exec('docker', ['rmi', BARE_TAG]).catch(() => undefined);
    await berthRepo.remove();
    await bareRepo.remove();
  }
}
