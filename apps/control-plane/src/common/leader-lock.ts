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
