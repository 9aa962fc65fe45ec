/**
 * A running Berth for end-to-end tests and benchmarks: a fresh database, the control plane and one
 * worker agent as real processes (as `npm run control-plane` and `npm run agent` run them), a
 * registered worker that is online, and restarts of either process on the same address and token (the
 * agent also keeps its work dir, as on a real host: its log cursors and worker id survive a restart).
 */
import { randomBytes } from 'node:crypto';
import { removeContainersByLabel } from './docker';
import { createMigratedDatabase } from './pg-admin';
import { agentWorkDir, eventually, freePort, startAgentProcess, startControlPlaneProcess, type BerthProcess } from './processes';

export interface ApiReply {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON whose shape each test asserts
}

export interface Berth {
  base: string;
  /** The admin API token (for socket.io handshakes; api() sends it already). */
  adminToken: string;
  databaseUrl: string;
  workerId: string;
  workerToken: string;
  cp: BerthProcess;
  agent: BerthProcess;
  /** The API with the admin token; `json` makes it a POST unless `method` says otherwise. */
  api(path: string, init?: { method?: string; json?: unknown }): Promise<ApiReply>;
  /** Polls a deployment until it is succeeded or failed. */
  waitDeployment(id: string, timeoutMs?: number, everyMs?: number): Promise<{ status: string; reason?: string; commit?: string; logTail?: string[] }>;
  /** Stops the control plane, runs `whileDown` (if given), and starts it again on the same address. */
  restartControlPlane(signal?: NodeJS.Signals, whileDown?: () => Promise<void>): Promise<void>;
  /** Stops the agent, runs `whileDown` (if given), and starts it again with the same token. */
  restartAgent(signal?: NodeJS.Signals, whileDown?: () => Promise<void>): Promise<void>;
  close(): Promise<void>;
}

export interface BerthOptions {
  /** Extra environment for the agent (e.g. a short BERTH_HEALTH_CHECK_DEADLINE_MS). */
  agentEnv?: Record<string, string>;
  /** Extra environment for the control plane (e.g. BERTH_TRAEFIK_TOKEN). */
  controlPlaneEnv?: Record<string, string>;
  logLevel?: string;
  /** Inside Vitest, clone the run's template; outside (benchmarks), create and migrate a database; or one given. */
  database?: 'template' | 'migrate' | { url: string; drop(): Promise<void> };
  /** V8 flags for both processes instead of scripts/node-flags.json (a benchmark's comparison). */
  nodeFlags?: readonly string[];
  /** Where the agent reaches the control plane, given its address (e.g. through a relay the test controls). */
  agentUrl?: (base: string) => string;
}


export async function startBerth(options: BerthOptions = {}): Promise<Berth> {
  // Loaded lazily: the template clone needs Vitest's injected context, which benchmarks do not have.
  const db =
    typeof options.database === 'object'
      ? options.database
      : options.database === 'migrate'
        ? await createMigratedDatabase()
        : await (await import('./database')).createTestDatabase();
  const adminToken = `bat_${randomBytes(18).toString('base64url')}`;
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const logLevel = options.logLevel ?? 'info';

  const api = async (path: string, init: { method?: string; json?: unknown } = {}): Promise<ApiReply> => {
    const res = await fetch(base + path, {
      method: init.method ?? (init.json === undefined ? 'GET' : 'POST'),
      headers: { authorization: `Bearer ${adminToken}`, ...(init.json === undefined ? {} : { 'content-type': 'application/json' }) },
      body: init.json === undefined ? undefined : JSON.stringify(init.json),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  const startCp = async () => {
    const cp = startControlPlaneProcess({ databaseUrl: db.url, port, adminToken, extra: { BERTH_LOG_LEVEL: logLevel, ...options.controlPlaneEnv }, nodeFlags: options.nodeFlags });
    try {
      await eventually('the control plane to answer /healthz', async () => ((await fetch(`${base}/healthz`)).ok ? true : undefined), 60_000);
    } catch (err) {
      await cp.stop('SIGKILL').catch(() => undefined);
      throw new Error(`${(err as Error).message}\n${cp.log().slice(-4000)}`);
    }
    return cp;
  };
  const workerOnline = (workerId: string) =>
    eventually('the worker to come online', async () => ((await api(`/api/workers/${workerId}`)).body?.status === 'online' ? true : undefined), 60_000);

  const cp = await startCp();
  const worker = await api('/api/workers', { json: { name: 'e2e-worker' } });
  if (worker.status !== 201) throw new Error(`could not register a worker: ${worker.status} ${JSON.stringify(worker.body)}`);
  const workDir = agentWorkDir();
  const startAgent = () => startAgentProcess({ url: options.agentUrl?.(base) ?? base, token: worker.body.token, workDir, extra: { BERTH_LOG_LEVEL: logLevel, ...options.agentEnv }, nodeFlags: options.nodeFlags });

  const berth: Berth = {
    base,
    adminToken,
    databaseUrl: db.url,
    workerId: worker.body.id,
    workerToken: worker.body.token,
    cp,
    agent: startAgent(),
    api,
    waitDeployment: (id, timeoutMs = 120_000, everyMs = 250) =>
      eventually(`deployment ${id} to finish`, async () => {
        const { body } = await api(`/api/deployments/${id}`);
        return body?.status === 'succeeded' || body?.status === 'failed' ? body : undefined;
      }, timeoutMs, everyMs),
    async restartControlPlane(signal = 'SIGTERM', whileDown) {
      await berth.cp.stop(signal);
      await whileDown?.();
      berth.cp = await startCp();
    },
    async restartAgent(signal = 'SIGTERM', whileDown) {
      await berth.agent.stop(signal);
      await whileDown?.();
      berth.agent = startAgent();
    },
    async close() {
      await berth.agent.stop();
      await berth.cp.stop();
      await removeContainersByLabel(`berth.worker=${berth.workerId}`);
      await db.drop();
    },
  };
  try {
    await workerOnline(berth.workerId);
  } catch (err) {
    // Never leave processes behind a failed start: they would hold connections the rest of the run needs.
    const logs = `control plane:\n${berth.cp.log().slice(-4000)}\nagent:\n${berth.agent.log().slice(-4000)}`;
    await berth.close().catch(() => undefined);
    throw new Error(`${(err as Error).message}\n${logs}`);
  }
  return berth;
}
