import { Global, Inject, Injectable, Logger, Module, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type { ControlPlaneConfig } from '@berth/config';
import { randomUUID } from 'node:crypto';
import { Client, type Pool } from 'pg';
import { CONTROL_PLANE_CONFIG } from '../config/config.module';
import { PG_POOL } from '../database/pg-pool';
import { CLOCK, type Clock } from './clock';

/** The one PostgreSQL channel live telemetry crosses replicas on. */
export const LIVE_CHANNEL = 'berth_live';
/** PostgreSQL refuses NOTIFY payloads of 8000 bytes or more; a message stays under this. */
export const MAX_NOTIFY_BYTES = 7_900;

type Listener = (payload: unknown) => void;

/**
 * Live fan-out across control-plane replicas on PostgreSQL LISTEN/NOTIFY, nothing else: `publish(topic,
 * payload)` reaches every `on(topic)` listener of every replica (this one at once, the others through
 * NOTIFY). Payloads must be small (a wake-up with an id, a stats view); bulk data stays in tables and
 * is read by whoever was woken. After a lost LISTEN connection, `onResync` listeners are called so they
 * re-read what they may have missed.
 */
@Injectable()
export class LiveBus implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('live-bus');
  private readonly origin = randomUUID();
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly resyncListeners = new Set<() => void>();
  private client?: Client;
  private running = false;
  private attempt = 0;

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(CONTROL_PLANE_CONFIG) private readonly config: ControlPlaneConfig,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async onModuleInit(): Promise<void> {
    this.running = true;
    await this.connect();
  }

  async onApplicationShutdown(): Promise<void> {
    this.running = false;
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  on(topic: string, listener: Listener): () => void {
    let set = this.listeners.get(topic);
    if (!set) this.listeners.set(topic, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.listeners.get(topic) === set) this.listeners.delete(topic);
    };
  }

  onResync(listener: () => void): () => void {
    this.resyncListeners.add(listener);
    return () => void this.resyncListeners.delete(listener);
  }

  /** Delivers here now and to the other replicas through NOTIFY; throws if the payload is too large. */
  async publish(topic: string, payload: unknown): Promise<void> {
    const text = JSON.stringify({ o: this.origin, t: topic, p: payload });
    if (Buffer.byteLength(text) > MAX_NOTIFY_BYTES) throw new Error(`a live ${topic} message of ${Buffer.byteLength(text)} bytes is over the NOTIFY limit`);
    this.deliver(topic, payload);
    await this.pool.query('SELECT pg_notify($1, $2)', [LIVE_CHANNEL, text]);
  }

  private deliver(topic: string, payload: unknown): void {
    for (const listener of [...(this.listeners.get(topic) ?? [])]) {
      try {
        listener(payload);
      } catch (err) {
        this.logger.error({ err, topic, msg: 'a live listener threw' });
      }
    }
  }

  private async connect(): Promise<void> {
    const client = new Client({ connectionString: this.config.databaseUrl, application_name: 'berth-live-bus', keepAlive: true });
    this.client = client;
    client.on('error', (err) => this.dropped(client, err));
    client.on('end', () => this.dropped(client));
    client.on('notification', (msg) => {
      if (msg.channel !== LIVE_CHANNEL || !msg.payload) return;
      try {
        const { o, t, p } = JSON.parse(msg.payload) as { o: string; t: string; p: unknown };
        if (o !== this.origin) this.deliver(t, p);
      } catch (err) {
        this.logger.warn({ err, msg: 'ignored an unreadable live message' });
      }
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${LIVE_CHANNEL}`);
    } catch (err) {
      this.dropped(client, err);
      return;
    }
    if (this.attempt > 0) {
      this.logger.log({ msg: 'live bus is listening again' });
      for (const listener of [...this.resyncListeners]) listener();
    }
    this.attempt = 0;
  }

  private dropped(client: Client, err?: unknown): void {
    if (this.client !== client) return;
    this.client = undefined;
    client.end().catch(() => undefined);
    if (!this.running) return;
    const delayMs = Math.min(10_000, 100 * 2 ** this.attempt++);
    this.logger.warn({ err, retryInMs: delayMs, msg: 'live bus lost its LISTEN connection; reconnecting' });
    this.clock.setTimeout(() => void this.connect(), delayMs);
  }
}

/** One LiveBus per process, shared by the modules that fan telemetry out (logs, stats). */
@Global()
@Module({ providers: [LiveBus], exports: [LiveBus] })
export class LiveBusModule {}
