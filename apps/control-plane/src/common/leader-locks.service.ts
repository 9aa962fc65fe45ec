import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import type { ControlPlaneConfig } from '@berth/config';
import { CONTROL_PLANE_CONFIG } from '../config/config.module';
import { lockKeyOf, PgAdvisoryLock, type LeaderLock } from './leader-lock';

/**
 * Named leadership for background loops: `named('alerts-poller')` is one PostgreSQL advisory lock that
 * one replica at a time holds (each on its own connection, released at shutdown). Any module takes
 * the lock of its own loops from here.
 */
@Injectable()
export class LeaderLocks implements OnApplicationShutdown {
  private readonly logger = new Logger('leader-locks');
  private readonly locks = new Map<string, LeaderLock>();

  constructor(@Inject(CONTROL_PLANE_CONFIG) private readonly config: ControlPlaneConfig) {}

  named(name: string): LeaderLock {
    let lock = this.locks.get(name);
    if (!lock) {
      lock = new PgAdvisoryLock(this.config.databaseUrl, lockKeyOf(name), (err) =>
        this.logger.warn({ err, lock: name, msg: 'lost a leader lock (its connection dropped); another replica may take over' }),
      );
      this.locks.set(name, lock);
    }
    return lock;
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([...this.locks.values()].map((lock) => lock.release().catch(() => undefined)));
  }
}
