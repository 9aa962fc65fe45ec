/** A socket.io client speaking the `/agent` protocol, for tests that play the worker agent. */
import type { AgentAck, AgentHello, AgentToServer, JobSpec, ServerToAgent } from '@berth/contracts';
import { Client } from 'pg';
import { io, type Socket } from 'socket.io-client';
import type { RunningControlPlane } from './support/control-plane';

export type AgentClient = Socket<ServerToAgent, AgentToServer>;

/** How long a test waits for an ack or an event before failing (not a sleep: it ends as soon as they come). */
export const WAIT_MS = 10_000;

export const HELLO: AgentHello = { capacity: { memoryMb: 1024, cpus: 2 }, advertiseIp: '127.0.0.1', agentVersion: 'test', containers: [] };

function socketFor(url: string, auth: Record<string, unknown>): AgentClient {
  return io(`${url}/agent`, { auth, transports: ['websocket'], reconnection: false, forceNew: true });
}

/** Connects as the worker holding `token`; rejects with the connect_error the server sent. */
export function connectAgent(url: string, token: string | undefined): Promise<AgentClient> {
  const socket = socketFor(url, token === undefined ? {} : { token });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (err) => {
      socket.close();
      reject(err);
    });
  });
}

/** Emits one agent message (any payload, to test refusals) and resolves with its ack. */
export function send(socket: AgentClient, event: keyof AgentToServer, payload: unknown): Promise<AgentAck> {
  const raw = socket as unknown as Socket;
  return raw.timeout(WAIT_MS).emitWithAck(event, payload) as Promise<AgentAck>;
}

/** Resolves with the next job the control plane pushes, acknowledging it as accepted. */
export function nextJob(socket: AgentClient): Promise<JobSpec> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no job pushed within ${WAIT_MS} ms`)), WAIT_MS);
    socket.once('job', (job, ack) => {
      clearTimeout(timer);
      ack({ accepted: true });
      resolve(job);
    });
  });
}

/** Resolves when the socket is disconnected, with socket.io's reason. */
export function disconnected(socket: AgentClient): Promise<string> {
  return new Promise((resolve) => socket.once('disconnect', (reason) => resolve(reason)));
}

export async function registerWorker(cp: RunningControlPlane, name: string, zone?: string): Promise<{ id: string; token: string }> {
  const res = await cp.api('/api/workers', { method: 'POST', json: zone ? { name, zone } : { name } });
  if (res.status !== 201) throw new Error(`POST /api/workers answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as { id: string; token: string };
}

export async function countEvents(databaseUrl: string, type?: string): Promise<number> {
  const c = new Client({ connectionString: databaseUrl });
  await c.connect();
  try {
    const { rows } = await c.query<{ n: number }>(`SELECT count(*)::int AS n FROM events WHERE $1::text IS NULL OR type = $1`, [type ?? null]);
    return rows[0].n;
  } finally {
    await c.end();
  }
}

/**
 * Re-reads `read` until `done` holds: for state that changes after a socket disconnect, which has no
 * ack to await. Bounded by WAIT_MS.
 */
export async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${WAIT_MS} ms; last value: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
