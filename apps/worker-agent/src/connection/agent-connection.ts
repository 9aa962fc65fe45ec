/**
 * The agent's one connection to the control plane: socket.io namespace /agent, worker token in the
 * handshake. On every (re)connect: hello (with the containers found on the host), then the outbox
 * is sent in order, one message at a time, each kept until acknowledged — so a control-plane
 * restart loses no result. Heartbeats every HEARTBEAT_INTERVAL_MS while connected.
 *
 * Any part of the agent sends through `send(kind, msg)` (job results, build logs, runtime logs,
 * stats) and takes the control plane's messages through `on(name, handler)`; this class knows none
 * of their meanings.
 */
import { AGENT_NAMESPACE, HEARTBEAT_INTERVAL_MS } from '@berth/contracts';
import type { AgentAck, AgentHello, AgentHelloReply, AppRemoveMsg, AppRemoveReply, HeartbeatMsg, JobSpec } from '@berth/contracts';
import { systemClock, type Clock } from '@berth/core';
import type { Logger } from 'pino';
import { io } from 'socket.io-client';
import type { Socket } from 'socket.io-client';
import type { JobEvent, JobMessages, JobReporter } from '../jobs/job-reporter';
import { LOG_FLOW_WINDOW_BYTES, OUTBOX_LIMIT, OUTBOX_MAX_BYTES, Outbox, type SendOptions } from './outbox';

/** Answers one control-plane message; its value (or a rejection's message as `{error}`) goes back in the ack. */
export type ServerMessageHandler = (msg: unknown) => unknown | Promise<unknown>;

export interface AgentConnectionOptions {
  /** Control plane base URL; the namespace is appended. */
  url: string;
  token: string;
  logger: Logger;
  /** Builds the hello for each (re)connect (the containers on the host may have changed). */
  hello(): Promise<AgentHello>;
  onHello(reply: AgentHelloReply): void;
  /** The answer to a `job` message (registered with on('job') at construction). */
  onJob?(job: JobSpec): { accepted: boolean };
  /** The answer to an `app:remove` message, once the app's containers are gone. */
  onAppRemove?(msg: AppRemoveMsg): Promise<AppRemoveReply>;
  heartbeat(): Promise<HeartbeatMsg>;
  /** The control plane acknowledged this heartbeat (what it reported is counted there). */
  onHeartbeatAck?(msg: HeartbeatMsg): void;
  /** Called when the server refuses the handshake (a wrong or revoked worker token). */
  onAuthRejected?(message: string): void;
  heartbeatIntervalMs?: number;
  ackTimeoutMs?: number;
  outboxLimit?: number;
  /** Bytes the outbox may hold while the control plane is unreachable (BERTH_LOG_BUFFER_BYTES). */
  outboxMaxBytes?: number;
  clock?: Clock;
  /** Backoff between reconnects the agent does itself (after a refusal); socket.io's own uses the same bounds. */
  reconnectDelayMs?: { min: number; max: number };
}

type AckReply = AgentAck<unknown>;
type RawSocket = Pick<Socket, 'connected' | 'active' | 'connect' | 'disconnect' | 'on' | 'off'> & {
  emit(event: string, ...args: unknown[]): unknown;
};

class Disconnected extends Error {}

export class AgentConnection implements JobReporter {
  private readonly log: Logger;
  private readonly outbox: Outbox;
  private readonly ackTimeoutMs: number;
  private readonly backoff: { min: number; max: number };
  private socket: RawSocket | undefined;
  /** Hello acknowledged on the current connection: the outbox may flow. */
  private ready = false;
  private pumping = false;
  private closed = false;
  private failures = 0;
  private heartbeatTimer: ReturnType<Clock['setInterval']> | undefined;
  private reconnectTimer: ReturnType<Clock['setTimeout']> | undefined;
  private readonly clock: Clock;
  private readonly handlers = new Map<string, ServerMessageHandler>();
  private heartbeatPending = false;
  private drainWaiters: (() => void)[] = [];
  /** Log followers waiting for the outbox to take more (see whenWritable). */
  private writableWaiters: (() => void)[] = [];
  /** Server messages that arrived before the hello reply was handled: taken once it is. */
  private beforeHello: (() => void)[] = [];

  constructor(private readonly options: AgentConnectionOptions) {
    this.log = options.logger.child({ component: 'agent-connection' });
    this.outbox = new Outbox(options.outboxLimit ?? OUTBOX_LIMIT, options.outboxMaxBytes ?? OUTBOX_MAX_BYTES);
    this.ackTimeoutMs = options.ackTimeoutMs ?? 10_000;
    this.backoff = options.reconnectDelayMs ?? { min: 500, max: 10_000 };
    this.clock = options.clock ?? systemClock;
    const { onJob, onAppRemove } = options;
    if (onJob) this.on('job', (job) => this.takeJob(job as JobSpec, onJob));
    if (onAppRemove) this.on('app:remove', (msg) => this.removeApp(msg as AppRemoveMsg | undefined, onAppRemove));
  }

  /**
   * Registers the handler of one control-plane message (before start()). Messages are taken only after
   * the hello reply named this worker; the handler's value is the ack.
   */
  on(name: string, handler: ServerMessageHandler): void {
    if (this.handlers.has(name)) throw new Error(`the control-plane message ${name} already has a handler`);
    this.handlers.set(name, handler);
    this.socket?.on(name, (msg: unknown, ack?: (reply: unknown) => void) => this.receive(name, handler, msg, ack));
  }

  start(): void {
    const socket = io(this.options.url.replace(/\/$/, '') + AGENT_NAMESPACE, {
      auth: { token: this.options.token },
      transports: ['websocket'],
      reconnection: true,
      reconnectionDelay: this.backoff.min,
      reconnectionDelayMax: this.backoff.max,
    });
    this.socket = socket as unknown as RawSocket;
    socket.on('connect', () => void this.onConnect());
    socket.on('disconnect', (reason) => this.onDisconnect(reason));
    socket.on('connect_error', (err) => this.onConnectError(err));
    for (const [name, handler] of this.handlers) {
      socket.on(name, (msg: unknown, ack?: (reply: unknown) => void) => this.receive(name, handler, msg, ack));
    }
    this.heartbeatTimer = this.clock.setInterval(() => void this.sendHeartbeat(), this.options.heartbeatIntervalMs ?? HEARTBEAT_INTERVAL_MS);
  }

  get connected(): boolean {
    return this.ready;
  }

  /** Connected, and every message sent so far was acknowledged: one sent now goes out at once. */
  get idle(): boolean {
    return this.ready && !this.closed && this.outbox.size === 0;
  }

  get pendingMessages(): number {
    return this.outbox.size;
  }

  /** Bytes waiting in the outbox. */
  get pendingBytes(): number {
    return this.outbox.bytes;
  }

  /** Messages dropped from a full outbox since start. */
  get droppedMessages(): number {
    return this.outbox.dropped;
  }

  /** Queues a message; it is sent in order (again, if need be) until acknowledged. */
  send(kind: string, msg: unknown, opts: SendOptions = {}): void {
    const dropped = this.outbox.push(kind, msg, opts);
    if (dropped > 0) this.log.warn({ kind, dropped: this.outbox.dropped, queuedBytes: this.outbox.bytes }, 'outbox full: dropped the oldest droppable messages');
    void this.pump();
  }

  /**
   * Flow control for log followers: while connected and more than LOG_FLOW_WINDOW_BYTES wait to be
   * acknowledged, a promise that settles once half of that went through (or the connection dropped;
   * then the outbox takes everything, up to its bound, and drops the oldest past it). Otherwise
   * undefined: send now.
   */
  whenWritable(): Promise<void> | undefined {
    if (!this.ready || this.closed || this.outbox.bytes < LOG_FLOW_WINDOW_BYTES) return undefined;
    return new Promise((resolve) => this.writableWaiters.push(resolve));
  }

  private releaseWriters(all = false): void {
    if (this.writableWaiters.length === 0 || (!all && this.outbox.bytes > LOG_FLOW_WINDOW_BYTES / 2)) return;
    this.writableWaiters.splice(0).forEach((w) => w());
  }

  /** JobReporter: job messages; build-log batches may be dropped when the outbox is full, results never. */
  report<E extends JobEvent>(event: E, msg: JobMessages[E]): void {
    this.send(event, msg, { droppable: event === 'job:log' });
  }

  /** Resolves true once everything queued so far was acknowledged, false after timeoutMs. */
  flush(timeoutMs: number): Promise<boolean> {
    if (this.outbox.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = this.clock.setTimeout(() => resolve(false), timeoutMs);
      this.drainWaiters.push(() => {
        this.clock.clearTimeout(timer);
        resolve(true);
      });
    });
  }

  close(): void {
    this.closed = true;
    this.ready = false;
    this.releaseWriters(true);
    this.clock.clearInterval(this.heartbeatTimer);
    this.clock.clearTimeout(this.reconnectTimer);
    this.socket?.disconnect();
  }

  private async onConnect(): Promise<void> {
    const socket = this.socket!;
    this.log.info('connected; saying hello');
    try {
      const reply = (await this.request('hello', await this.options.hello())) as AgentAck<AgentHelloReply>;
      if (!reply.ok) throw new Error(`hello refused: ${reply.error.message}`);
      if (!reply.result?.workerId) throw new Error('hello reply carries no workerId');
      if (!socket.connected) return;
      this.options.onHello(reply.result);
      this.ready = true;
      this.failures = 0;
      this.log.info({ workerId: reply.result.workerId, name: reply.result.name, queued: this.outbox.size }, 'hello acknowledged');
      this.beforeHello.splice(0).forEach((take) => take());
      void this.sendHeartbeat();
      void this.pump();
    } catch (err) {
      if (err instanceof Disconnected || this.closed) return;
      this.log.error({ err }, 'hello failed; reconnecting');
      socket.disconnect();
      this.scheduleReconnect();
    }
  }

  /** A server message may overtake our processing of the hello reply: hold it until we know who we are. */
  private whenReady(take: () => void): void {
    if (this.ready) take();
    else this.beforeHello.push(take);
  }

  /** One control-plane message: taken once ready, answered with the handler's value (or `{error}`). */
  private receive(name: string, handler: ServerMessageHandler, msg: unknown, ack?: (reply: unknown) => void): void {
    const answer = typeof ack === 'function' ? ack : () => undefined;
    this.whenReady(() => {
      Promise.resolve()
        .then(() => handler(msg))
        .then(answer, (err: unknown) => {
          this.log.error({ err, name }, 'could not handle a control-plane message');
          answer({ error: err instanceof Error ? err.message : String(err) });
        });
    });
  }

  private async removeApp(msg: AppRemoveMsg | undefined, onAppRemove: (msg: AppRemoveMsg) => Promise<AppRemoveReply>): Promise<AppRemoveReply> {
    const appId = msg?.appId;
    if (typeof appId !== 'string' || appId.length === 0) {
      this.log.warn({ msg }, 'app:remove without an appId; ignored');
      return { removed: 0, error: 'app:remove needs an appId' };
    }
    this.log.info({ appId }, 'removing a deleted app');
    try {
      return await onAppRemove({ appId });
    } catch (err) {
      this.log.error({ err, appId }, 'could not remove a deleted app');
      return { removed: 0, error: err instanceof Error ? err.message : String(err) };
    }
  }

  private takeJob(job: JobSpec, onJob: (job: JobSpec) => { accepted: boolean }): { accepted: boolean } {
    const reply = onJob(job);
    this.log.info({ jobId: job?.jobId, appId: job?.appId, accepted: reply.accepted }, 'job received');
    return reply;
  }

  private onDisconnect(reason: string): void {
    this.ready = false;
    this.releaseWriters(true);
    // Unanswered messages of the lost connection: the server sends them again.
    this.beforeHello = [];
    if (this.closed) return;
    this.log.warn({ reason, queued: this.outbox.size }, 'disconnected from the control plane');
    // A server-side disconnect is final for socket.io; we still want to come back.
    if (reason === 'io server disconnect') this.scheduleReconnect();
  }

  private onConnectError(err: Error): void {
    if (this.closed) return;
    if (this.socket?.active) {
      this.log.warn({ err: err.message }, 'cannot reach the control plane; retrying');
      return;
    }
    // The server refused the handshake: socket.io will not retry on its own.
    this.log.error({ err: err.message }, 'control plane refused the worker token');
    this.options.onAuthRejected?.(err.message);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed) return;
    this.clock.clearTimeout(this.reconnectTimer);
    const delay = Math.min(this.backoff.max, this.backoff.min * 2 ** Math.min(this.failures++, 16)) * (0.5 + Math.random() / 2);
    this.reconnectTimer = this.clock.setTimeout(() => {
      if (!this.closed && !this.socket?.connected) this.socket?.connect();
    }, delay);
  }

  /** Emits with an ack; rejects on ack timeout, or at once when the connection drops. */
  private request(event: string, msg: unknown): Promise<AckReply> {
    const socket = this.socket;
    if (!socket?.connected) return Promise.reject(new Disconnected('not connected'));
    return new Promise((resolve, reject) => {
      let settled = false;
      const settle = (err: Error | undefined, reply?: AckReply) => {
        if (settled) return;
        settled = true;
        this.clock.clearTimeout(timer);
        socket.off('disconnect', onDrop);
        if (err) reject(err);
        else resolve(reply as AckReply);
      };
      const onDrop = () => settle(new Disconnected('connection lost before the ack'));
      const timer = this.clock.setTimeout(() => settle(new Error(`no ack for ${event} within ${this.ackTimeoutMs} ms`)), this.ackTimeoutMs);
      socket.on('disconnect', onDrop);
      socket.emit(event, msg, (reply: AckReply) => settle(undefined, reply));
    });
  }

  /** Sends the outbox head until empty or disconnected; one message in flight keeps the order. */
  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.ready && !this.closed) {
        const entry = this.outbox.peek();
        if (!entry) break;
        let reply: AckReply;
        try {
          reply = await this.request(entry.kind, entry.msg);
        } catch (err) {
          if (err instanceof Disconnected) break;
          this.log.warn({ err: (err as Error).message, event: entry.kind }, 'no ack; sending again');
          continue;
        }
        if (reply?.ok) {
          this.outbox.remove(entry.id);
          this.releaseWriters();
        } else if ((reply?.error?.statusCode ?? 500) >= 500 || reply?.error?.retryable) {
          this.log.warn({ event: entry.kind, error: reply?.error }, 'control plane could not take the message yet; sending it again');
          await this.clock.sleep(this.backoff.min);
        } else {
          this.log.error({ event: entry.kind, error: reply.error }, 'control plane refused the message; dropping it');
          this.outbox.remove(entry.id, 'refused');
          this.releaseWriters();
        }
      }
    } finally {
      this.pumping = false;
    }
    if (this.outbox.size === 0) this.drainWaiters.splice(0).forEach((w) => w());
    else if (this.ready && !this.closed) void this.pump();
  }

  private async sendHeartbeat(): Promise<void> {
    if (!this.ready || this.heartbeatPending) return;
    this.heartbeatPending = true;
    try {
      const msg = await this.options.heartbeat();
      const reply = await this.request('heartbeat', msg);
      if (reply?.ok) this.options.onHeartbeatAck?.(msg);
      else this.log.warn({ error: reply?.error }, 'heartbeat refused');
    } catch (err) {
      if (!(err instanceof Disconnected)) this.log.warn({ err: (err as Error).message }, 'heartbeat failed');
    } finally {
      this.heartbeatPending = false;
    }
  }
}
