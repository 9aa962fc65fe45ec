import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import type { ControlPlaneConfig } from '@berth/config';
import { CONTROL_PLANE_CONFIG } from '../config/config.module';
import { lockKeyOf, PgAdvisoryLockSession, type LeaderLock } from './leader-lock';

/**
 * Named leadership for background loops: `named('alerts-poller')` is one PostgreSQL advisory lock that
 * one replica at a time holds. All of a replica's locks share one dedicated connection (released at
 * shutdown, or all lost together when it drops). Any module takes the lock of its own loops from here.
 */
@Injectable()
export class LeaderLocks implements OnApplicationShutdown {
  private readonly logger = new Logger('leader-locks');
  private readonly locks = new Map<string, LeaderLock>();
  private readonly session: PgAdvisoryLockSession;
  private readonly names = new Map<string, string>();

  constructor(@Inject(CONTROL_PLANE_CONFIG) config: ControlPlaneConfig) {
    this.session = new PgAdvisoryLockSession(config.databaseUrl, (keys, err) =>
      this.logger.warn({
        err,
        locks: keys.map((k) => this.names.get(`${k[0]}:${k[1]}`) ?? k.join(':')),
        msg: 'lost the leader locks (their connection dropped); another replica may take over',
      }),
    );
  }

  named(name: string): LeaderLock {
    let lock = this.locks.get(name);
    if (!lock) {
      const key = lockKeyOf(name);
      this.names.set(`${key[0]}:${key[1]}`, name);
      lock = this.session.lock(key);
      this.locks.set(name, lock);
    }
    return lock;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.session.close();
  }
}
