/**
 * Wakes readers when events may have been appended: a dedicated connection LISTENs on the store's
 * channel (appends NOTIFY it in their transaction, so the wake comes on commit), a timer wakes them
 * every pollIntervalMs as a fallback, and a dropped connection (PostgreSQL restart,
 * pg_terminate_backend) is re-established with backoff without taking the process down.
 */
import { Client, escapeIdentifier, type ClientConfig } from 'pg';
import { backoffDelay, type BackoffOptions } from './backoff';
import { noopLogger, type Logger } from './logger';

export interface EventWakerOptions {
  connection: ClientConfig;
  channel: string;
  /** Wake everyone this often even without a NOTIFY; default 1000 ms. */
  pollIntervalMs?: number;
  reconnect?: BackoffOptions;
  logger?: Logger;
}

export const WAKER_APPLICATION_NAME = 'berth-event-waker';
const DEFAULT_RECONNECT: BackoffOptions = { minMs: 100, maxMs: 10_000, jitter: 0.2 };

export class EventWaker {
  private readonly wakeListeners = new Set<() => void>();
  private readonly listeningListeners = new Set<() => void>();
  private readonly logger: Logger;
  private running = false;
  private client?: Client;
  private listening = false;
  private attempt = 0;
  private pollTimer?: NodeJS.Timeout;
  private reconnectTimer?: NodeJS.Timeout;
  private firstListen?: Promise<void>;
  private resolveFirstListen?: () => void;

  constructor(private readonly options: EventWakerOptions) {
    this.logger = options.logger ?? noopLogger;
  }

  get isListening(): boolean {
    return this.listening;
  }

  /** Starts listening; resolves once the first LISTEN is in place (or stop() is called). Idempotent. */
  start(): Promise<void> {
    if (this.running && this.firstListen) return this.firstListen;
    this.running = true;
    this.firstListen = new Promise((resolve) => (this.resolveFirstListen = resolve));
    this.pollTimer = setInterval(() => this.wake(), this.options.pollIntervalMs ?? 1000);
    this.pollTimer.unref();
    void this.connect();
    return this.firstListen;
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    clearInterval(this.pollTimer);
    clearTimeout(this.reconnectTimer);
    this.resolveFirstListen?.();
    this.listening = false;
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  /** Calls `listener` on every wake; returns the function that removes it. */
  onWake(listener: () => void): () => void {
    this.wakeListeners.add(listener);
    return () => void this.wakeListeners.delete(listener);
  }

  /** Calls `listener` each time a LISTEN is (re-)established. */
  onListening(listener: () => void): () => void {
    this.listeningListeners.add(listener);
    return () => void this.listeningListeners.delete(listener);
  }

  /** Wakes every listener now (also used in-process right after a local append commits). */
  wake(): void {
    for (const listener of [...this.wakeListeners]) this.callSafely(listener);
  }

  private async connect(): Promise<void> {
    const client = new Client({ ...this.options.connection, application_name: WAKER_APPLICATION_NAME, keepAlive: true });
    this.client = client;
    client.on('error', (err) => this.dropped(client, err));
    client.on('end', () => this.dropped(client));
    client.on('notification', (msg) => {
      if (msg.channel === this.options.channel) this.wake();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${escapeIdentifier(this.options.channel)}`);
    } catch (err) {
      this.dropped(client, err);
      return;
    }
    if (this.client !== client) {
      await client.end().catch(() => undefined);
      return;
    }
    this.listening = true;
    if (this.attempt > 0) this.logger.info({ channel: this.options.channel }, 'event waker is listening again');
    this.attempt = 0;
    this.resolveFirstListen?.();
    for (const listener of [...this.listeningListeners]) this.callSafely(listener);
    // Anything committed while we were not listening sent its NOTIFY to nobody: read now.
    this.wake();
  }

  private dropped(client: Client, err?: unknown): void {
    if (this.client !== client) return;
    this.client = undefined;
    this.listening = false;
    client.end().catch(() => undefined);
    if (!this.running) return;
    const delayMs = backoffDelay(this.attempt++, this.options.reconnect ?? DEFAULT_RECONNECT);
    this.logger.warn({ err, channel: this.options.channel, retryInMs: delayMs }, 'event waker lost its LISTEN connection; reconnecting');
    this.reconnectTimer = setTimeout(() => void this.connect(), delayMs);
    this.reconnectTimer.unref();
  }

  private callSafely(listener: () => void): void {
    try {
      listener();
    } catch (err) {
      this.logger.error({ err }, 'event waker listener threw');
    }
  }
}
