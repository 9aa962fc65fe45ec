/** A running Berth (control plane + one agent, real processes) for benchmarks. */
import { readFileSync } from 'node:fs';
import { createBenchDatabase } from './database';
import { eventually, freePort, startAgentProcess, startControlPlaneProcess, type BerthProcess } from '../../test/support/processes';
import { ensureBusyboxImage, removeContainersByLabel } from '../../test/support/docker';

const ADMIN = 'bat_bench_admin_token_0123456789abcdef';

export interface Platform {
  base: string;
  workerId: string;
  cp: BerthProcess;
  agent: BerthProcess;
  api(path: string, json?: unknown, method?: string): Promise<{ status: number; body: any }>;
  waitDeployment(id: string, timeoutMs?: number, everyMs?: number): Promise<{ status: string; reason?: string }>;
  close(): Promise<void>;
}

export async function startPlatform(agentEnv: Record<string, string> = {}): Promise<Platform> {
  await ensureBusyboxImage();
  const db = await createBenchDatabase();
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const cp = startControlPlaneProcess({ databaseUrl: db.url, port, adminToken: ADMIN, extra: { BERTH_LOG_LEVEL: 'warn' } });
  const api = async (path: string, json?: unknown, method?: string) => {
    const res = await fetch(base + path, {
      method: method ?? (json === undefined ? 'GET' : 'POST'),
      headers: { authorization: `Bearer ${ADMIN}`, ...(json === undefined ? {} : { 'content-type': 'application/json' }) },
      body: json === undefined ? undefined : JSON.stringify(json),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  await eventually('control plane /healthz', async () => ((await fetch(`${base}/healthz`)).ok ? true : undefined), 60_000);
  const worker = await api('/api/workers', { name: 'bench' });
  const agent = startAgentProcess({ url: base, token: worker.body.token, extra: { BERTH_LOG_LEVEL: 'warn', ...agentEnv } });
  await eventually('worker online', async () => ((await api(`/api/workers/${worker.body.id}`)).body?.status === 'online' ? true : undefined), 60_000);
  return {
    base,
    workerId: worker.body.id,
    cp,
    agent,
    api,
    waitDeployment: (id, timeoutMs = 180_000, everyMs = 25) =>
      eventually(`deployment ${id}`, async () => {
        const { body } = await api(`/api/deployments/${id}`);
        return body?.status === 'succeeded' || body?.status === 'failed' ? body : undefined;
      }, timeoutMs, everyMs),
    async close() {
      await agent.stop();
      await cp.stop();
      await removeContainersByLabel(`berth.worker=${worker.body.id}`);
      await db.drop();
    },
  };
}

/** Resident set size of a process, in MiB, from /proc. */
export function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) / 1024 : NaN;
}
