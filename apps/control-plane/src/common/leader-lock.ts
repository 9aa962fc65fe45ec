import { Client } from 'pg';

/** Leadership for a background loop: held by one replica at a time. */
export interface LeaderLock {
  /** Takes the lock if free; true when this process holds it (also when it already did). */
  tryAcquire(): Promise<boolean>;
  /** False once the lock is lost (its connection dropped) or released. */
  isHeld(): boolean;
  release(): Promise<void>;
}

/** The first key of every Berth advisory lock: 'bert'. The second names the loop. */
export const LOCK_NAMESPACE = 0x62657274;
/** The key pair of the scheduler's advisory lock (kept at 1, as before named locks existed). */
export const SCHEDULER_LOCK_KEY: readonly [number, number] = [LOCK_NAMESPACE, 1];

/** The advisory-lock key of a named background loop: a stable 31-bit hash of its name ('scheduler' keeps 1). */
export function lockKeyOf(name: string): readonly [number, number] {
  if (name === 'scheduler') return SCHEDULER_LOCK_KEY;
  let h = 0x811c9dc5;
  for (const ch of Buffer.from(name, 'utf8')) h = Math.imul(h ^ ch, 0x01000193) >>> 0;
  return [LOCK_NAMESPACE, (h % 0x7ffffff0) + 16];
}

/**
 * A session-level PostgreSQL advisory lock on a dedicated connection (not one of the pool's, which
 * would hand the session to other queries). The lock lives as long as that connection: if it drops,
 * the lock is gone on the server too, and isHeld() says so.
 */
export class PgAdvisoryLock implements LeaderLock {
  private client?: Client;
  private held = false;

  constructor(
    private readonly databaseUrl: string,
    private readonly key: readonly [number, number],
    private readonly onLost: (err: Error) => void = () => undefined,
  ) {}

  async tryAcquire(): Promise<boolean> {
    if (this.held) return true;
    const client = await this.connect();
    const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS locked', [this.key[0], this.key[1]]);
    this.held = rows[0].locked;
    return this.held;
  }

  isHeld(): boolean {
    return this.held;
  }

  async release(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    const wasHeld = this.held;
    this.held = false;
    if (!client) return;
    try {
      if (wasHeld) await client.query('SELECT pg_advisory_unlock($1, $2)', [this.key[0], this.key[1]]);
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  private async connect(): Promise<Client> {
    if (this.client) return this.client;
    const client = new Client({ connectionString: this.databaseUrl, keepAlive: true, application_name: `berth-lock-${this.key[1]}` });
    const lost = (err: Error) => {
      if (this.client !== client) return;
      this.client = undefined;
      const wasHeld = this.held;
      this.held = false;
      client.end().catch(() => undefined);
      if (wasHeld) this.onLost(err);
    };
    client.on('error', lost);
    client.on('end', () => lost(new Error('the lock connection closed')));
    await client.connect();
    this.client = client;
    return client;
  }
}

/**
 * Many named advisory locks on one dedicated connection: a control plane runs a dozen leader-only
 * loops, and one session for all of them keeps its PostgreSQL connections few. Session-level locks
 * live as long as the session: when the connection drops, every lock it held is gone on the server,
 * isHeld() says so for each, and onLost names them.
 */
export class PgAdvisoryLockSession {
  private client?: Client;
  private connecting?: Promise<Client>;
  private readonly held = new Set<string>();
  private closed = false;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly databaseUrl: string,
    private readonly onLost: (keys: (readonly [number, number])[], err: Error) => void = () => undefined,
    private readonly applicationName = 'berth-locks',
  ) {}

  /** The lock of one key, as a LeaderLock. */
  lock(key: readonly [number, number]): LeaderLock {
    const id = `${key[0]}:${key[1]}`;
    return {
      tryAcquire: async () => {
        if (this.held.has(id)) return true;
        if (this.closed) return false;
        const client = await this.connect();
        const { rows } = await this.serially(() => client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS locked', [key[0], key[1]]));
        if (rows[0].locked && this.client === client) this.held.add(id);
        return this.held.has(id);
      },
      isHeld: () => this.held.has(id),
      release: async () => {
        if (!this.held.delete(id)) return;
        const client = this.client;
        if (client) await this.serially(() => client.query('SELECT pg_advisory_unlock($1, $2)', [key[0], key[1]])).catch(() => undefined);
      },
    };
  }

  /**
   * One query at a time on the session's connection: the loops ask for their locks independently, and
   * pg's client is not to be given a query while another one runs.
   */
  private serially<T>(query: () => Promise<T>): Promise<T> {
    const run = this.tail.then(query, query);
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** Closes the session: every lock it held is released on the server. */
  async close(): Promise<void> {
    this.closed = true;
    this.held.clear();
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private connect(): Promise<Client> {
    if (this.client) return Promise.resolve(this.client);
    this.connecting ??= (async () => {
      const client = new Client({ connectionString: this.databaseUrl, keepAlive: true, application_name: this.applicationName });
      const lost = (err: Error) => {
        if (this.client !== client) return;
        this.client = undefined;
        const keys = [...this.held].map((id) => id.split(':').map(Number) as unknown as readonly [number, number]);
        this.held.clear();
        client.end().catch(() => undefined);
        if (keys.length > 0) this.onLost(keys, err);
      };
      client.on('error', lost);
      client.on('end', () => lost(new Error('the lock connection closed')));
      try {
        await client.connect();
      } catch (err) {
        await client.end().catch(() => undefined);
        throw err;
      }
      this.client = client;
      return client;
    })().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }
}
