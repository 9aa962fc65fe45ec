/** Helpers for telemetry tests: an app running on a fake agent, log lines, and dashboard socket.io clients. */
import type { AppView, DeploymentView, LogLine } from '@berth/contracts';
import { io, type Socket } from 'socket.io-client';
import { TEST_ADMIN_TOKEN, type RunningControlPlane } from './support/control-plane';
import { connectAgent, eventually, HELLO, nextJob, registerWorker, send, WAIT_MS, type AgentClient } from './workers-agent-client';

export interface RunningApp {
  appId: string;
  deploymentId: string;
  containerId: string;
  jobId: string;
  agent: AgentClient;
  workerId: string;
}

type Api = Pick<RunningControlPlane, 'api'>;

/** Registers a worker on `cp`, connects its agent to `agentUrl`, deploys an app and reports its container running. */
export async function runApp(cp: Api & { url: string }, name: string, agentUrl = cp.url, existing?: { agent: AgentClient; workerId: string }): Promise<RunningApp> {
  let agent = existing?.agent;
  let workerId = existing?.workerId;
  if (!agent) {
    const w = await registerWorker(cp as RunningControlPlane, `w-${name}`);
    agent = await connectAgent(agentUrl, w.token);
    workerId = w.id;
    const hello = await send(agent, 'hello', { ...HELLO, capacity: { memoryMb: 1_000_000, cpus: 64 } });
    if (!hello.ok) throw new Error(`hello refused: ${JSON.stringify(hello)}`);
    keepAlive(agent);
  }
  const created = await cp.api('/api/apps', { method: 'POST', json: { name, source: { type: 'image', image: 'berth/hello:1' }, port: 8080, memoryMb: 64 } });
  if (created.status !== 201) throw new Error(`POST /api/apps answered ${created.status}: ${await created.text()}`);
  const appId = ((await created.json()) as { id: string }).id;
  const { deploymentId, jobId } = await deployAndRun(cp, agent, appId, `c-${name}`);
  return { appId, deploymentId, jobId, containerId: `c-${name}`, agent, workerId: workerId! };
}

/** Deploys the app again (or first) and reports the container running; resolves when it is the app's current deployment. */
export async function deployAndRun(cp: Api, agent: AgentClient, appId: string, containerId: string): Promise<{ deploymentId: string; jobId: string }> {
  const pushed = nextJob(agent);
  const res = await cp.api(`/api/apps/${appId}/deployments`, { method: 'POST', json: {} });
  if (res.status !== 202) throw new Error(`deploy answered ${res.status}: ${await res.text()}`);
  const deployment = (await res.json()) as DeploymentView;
  const job = await pushed;
  await send(agent, 'job:started', { jobId: job.jobId, phase: 'starting' });
  await send(agent, 'job:container-started', { jobId: job.jobId, containerId, hostPort: 30_000 + Math.floor(Math.random() * 20_000) });
  const done = await send(agent, 'job:succeeded', { jobId: job.jobId, containerId, hostPort: 30_001 });
  if (!done.ok) throw new Error(`job:succeeded refused: ${JSON.stringify(done)}`);
  await eventually(
    async () => (await (await cp.api(`/api/deployments/${deployment.id}`)).json()) as DeploymentView,
    (d) => d.status === 'succeeded',
  );
  await eventually(async () => (await (await cp.api(`/api/apps/${appId}`)).json()) as AppView, (a) => a.endpoints.length > 0);
  return { deploymentId: deployment.id, jobId: job.jobId };
}

/** Heartbeats every 3 s until the socket closes, so the worker is not taken offline during a long test. */
export function keepAlive(agent: AgentClient): void {
  const timer = setInterval(() => {
    if (agent.connected) void send(agent, 'heartbeat', { at: new Date().toISOString(), capacity: { memoryMb: 1_000_000, cpus: 64 }, runningContainers: 1 }).catch(() => undefined);
  }, 3_000);
  agent.once('disconnect', () => clearInterval(timer));
}

export const lines = (from: number, to: number, text = (seq: number) => `line ${seq}`): LogLine[] =>
  Array.from({ length: to - from + 1 }, (_, i) => ({ seq: from + i, ts: new Date(1_700_000_000_000 + from + i).toISOString(), stream: 'stdout', text: text(from + i), truncated: false }));

export function sendLines(app: RunningApp, batch: LogLine[]) {
  return send(app.agent, 'logs:lines' as never, { containerId: app.containerId, appId: app.appId, deploymentId: app.deploymentId, lines: batch });
}

/** A dashboard client of a namespace; rejects with the connect_error the server sent. */
export function connectClient(
  url: string,
  namespace: string,
  auth: Record<string, unknown> = { token: TEST_ADMIN_TOKEN },
  /** Attach listeners here: events sent right on connection arrive before the promise resolves. */
  before?: (socket: Socket) => void,
): Promise<Socket> {
  const socket = io(`${url}${namespace}`, { auth, transports: ['websocket'], reconnection: false, forceNew: true });
  before?.(socket);
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (err) => {
      socket.close();
      reject(err);
    });
  });
}

/** Collects `event` payloads (arrays are flattened) and resolves when `done` holds; bounded by WAIT_MS. */
export function collect<T>(socket: Socket, event: string): { items: T[]; until(done: (items: T[]) => boolean, waitMs?: number): Promise<T[]> } {
  const items: T[] = [];
  const waiters = new Set<() => void>();
  socket.on(event, (payload: T | T[]) => {
    if (Array.isArray(payload)) items.push(...payload);
    else items.push(payload);
    for (const w of [...waiters]) w();
  });
  return {
    items,
    until: (done, waitMs = WAIT_MS) =>
      new Promise((resolve, reject) => {
        const check = () => {
          if (!done(items)) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(items);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`${event}: condition not met within ${waitMs} ms; have ${items.length} items, last ${JSON.stringify(items[items.length - 1])}`));
        }, waitMs);
        waiters.add(check);
        check();
      }),
  };
}

/** The API of a control plane started as a process, shaped like RunningControlPlane.api. */
export function processApi(url: string, token: string): Api & { url: string } {
  return {
    url,
    api(path, init = {}) {
      const headers = new Headers(init.headers);
      headers.set('authorization', `Bearer ${init.token ?? token}`);
      let body = init.body;
      if (init.json !== undefined) {
        headers.set('content-type', 'application/json');
        body = JSON.stringify(init.json);
      }
      return fetch(url + path, { ...init, headers, body });
    },
  };
}
