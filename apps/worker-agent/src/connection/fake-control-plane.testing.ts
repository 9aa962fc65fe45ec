/**
 * For tests only: a stand-in for the control plane's side of the /agent wire
 * (libs/contracts/src/agent-protocol.ts) on a real socket.io server. It checks the worker token,
 * answers hello, records every message and acknowledges it — unless told to withhold the ack,
 * which is how a test plays a control plane that dies before committing a result.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { AGENT_NAMESPACE } from '@berth/contracts';
import type { AgentHelloReply, JobSpec } from '@berth/contracts';
import { Server } from 'socket.io';
import type { Socket } from 'socket.io';

export interface Received {
  event: string;
  msg: { jobId?: string } & Record<string, unknown>;
}

export interface FakeControlPlaneOptions {
  port?: number;
  token: string;
  worker?: AgentHelloReply;
  withholdAckFor?: (r: Received) => boolean;
  /** Runs right after hello is acknowledged (e.g. to push a job at once, as a real server may). */
  afterHello?: (socket: Socket) => void;
}

export interface FakeControlPlane {
  port: number;
  received: Received[];
  sockets: Socket[];
  /** Resolves once a message received at index `from` or later satisfies `match`. */
  waitFor(match: (r: Received) => boolean, from?: number): Promise<Received>;
  sendJob(job: JobSpec): Promise<{ accepted: boolean }>;
  close(): Promise<void>;
}

export async function startFakeControlPlane(options: FakeControlPlaneOptions): Promise<FakeControlPlane> {
  const server = http.createServer();
  const io = new Server(server);
  const received: Received[] = [];
  const sockets: Socket[] = [];
  let listeners: (() => void)[] = [];
  const worker = options.worker ?? { workerId: 'w-1', name: 'worker-one' };
  const ns = io.of(AGENT_NAMESPACE);
  ns.use((socket, next) => (socket.handshake.auth?.token === options.token ? next() : next(new Error('invalid worker token'))));
  ns.on('connection', (socket) => {
    sockets.push(socket);
    socket.on('disconnect', () => sockets.splice(sockets.indexOf(socket), 1));
    socket.onAny((event: string, msg: Received['msg'], ack?: (reply: unknown) => void) => {
      const r = { event, msg };
      received.push(r);
      listeners.forEach((f) => f());
      if (options.withholdAckFor?.(r)) return;
      ack?.(event === 'hello' ? { ok: true, result: worker } : { ok: true });
      if (event === 'hello') options.afterHello?.(socket);
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    received,
    sockets,
    waitFor(match, from = 0) {
      return new Promise((resolve) => {
        const check = () => {
          const found = received.slice(from).find(match);
          if (!found) return false;
          listeners = listeners.filter((f) => f !== listener);
          resolve(found);
          return true;
        };
        const listener = () => void check();
        if (!check()) listeners.push(listener);
      });
    },
    sendJob(job) {
      const socket = sockets.at(-1);
      if (!socket) return Promise.reject(new Error('no agent connected'));
      return socket.timeout(5_000).emitWithAck('job', job) as Promise<{ accepted: boolean }>;
    },
    close: () => new Promise<void>((resolve) => io.close(() => resolve())),
  };
}
