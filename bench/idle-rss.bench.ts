/** Control-plane and agent memory at idle with 100 apps deployed and running. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createAppRepo } from '../test/support/git-fixture';
import { rssMiB, startPlatform } from './support/platform';
import type { BenchRow } from './support/table';

const exec = promisify(execFile);
const APPS = Number(process.env.BERTH_BENCH_IDLE_APPS ?? 100);
const IMAGE = 'berth-bench/hello:latest';

export async function run(): Promise<BenchRow[]> {
  const platform = await startPlatform();
  const repo = await createAppRepo({ message: 'idle bench' });
  try {
    await exec('git', ['clone', '-q', repo.url, `${repo.workDir}-clone`]);
    await exec('docker', ['build', '-q', '-t', IMAGE, `${repo.workDir}-clone`]);
    const emptyCp = rssMiB(platform.cp.child.pid!);
    const emptyAgent = rssMiB(platform.agent.child.pid!);
    const ids: string[] = [];
    for (let i = 0; i < APPS; i++) {
      const app = await platform.api('/api/apps', { json: { name: `idle-${i}`, source: { type: 'image', image: IMAGE }, port: 8080, memoryMb: 16 } });
      const d = await platform.api(`/api/apps/${app.body.id}/deployments`, { method: 'POST' });
      ids.push(d.body.id);
    }
    let failed = 0;
    for (const id of ids) if ((await platform.waitDeployment(id, 600_000)).status !== 'succeeded') failed++;
    // Let both processes settle (heartbeats keep flowing; nothing else should).
    await new Promise((r) => setTimeout(r, 15_000));
    const cp = rssMiB(platform.cp.child.pid!);
    const agent = rssMiB(platform.agent.child.pid!);
    const note = `${APPS - failed}/${APPS} apps running`;
    return [
      { benchmark: 'idle RSS', metric: 'control plane, 0 apps', value: emptyCp, unit: 'MiB' },
      { benchmark: 'idle RSS', metric: 'agent, 0 apps', value: emptyAgent, unit: 'MiB' },
      { benchmark: 'idle RSS', metric: `control plane, ${APPS} apps`, value: cp, unit: 'MiB', note },
      { benchmark: 'idle RSS', metric: `agent, ${APPS} apps`, value: agent, unit: 'MiB', note },
    ];
  } finally {
    await platform.close();
    await repo.remove();
    await exec('docker', ['rmi', IMAGE]).catch(() => undefined);
  }
}
