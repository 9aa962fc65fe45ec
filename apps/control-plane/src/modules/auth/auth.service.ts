import { Inject, Injectable, OnApplicationBootstrap, OnModuleInit } from '@nestjs/common';
import type { ControlPlaneConfig } from '@berth/config';
import { streamIds } from '@berth/contracts';
import { EventStore } from '@berth/event-store';
import type { Pool } from 'pg';
import { createHash } from 'node:crypto';
import { CONTROL_PLANE_CONFIG } from '../../config/config.module';
import { PG_POOL } from '../../database/pg-pool';
import { Projections } from '../../database/projections.service';
import { apiTokensProjector } from './projections/api-tokens.projector';
import { hashToken } from './token-hash';

export interface Principal {
  tokenId: string;
  name: string;
  role: 'admin';
}

@Injectable()
export class AuthService implements OnModuleInit, OnApplicationBootstrap {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    private readonly store: EventStore,
    private readonly projections: Projections,
    @Inject(CONTROL_PLANE_CONFIG) private readonly config: ControlPlaneConfig,
  ) {}

  onModuleInit(): void {
    this.projections.register(apiTokensProjector);
  }

  /** BERTH_ADMIN_TOKEN seeds an admin token (stored hashed), once per distinct token. */
  async onApplicationBootstrap(): Promise<void> {
    if (!this.config.adminToken) return;
    const tokenHash = hashToken(this.config.adminToken);
    // A stable id per token, so every replica and every restart seeds the same stream once.
    const h = createHash('sha256').update(`berth-admin:${tokenHash}`).digest('hex');
    const tokenId = `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
    const streamId = streamIds.token(tokenId);
    if ((await this.store.streamVersion(streamId)) === 0) {
      try {
        await this.store.append(streamId, 'token', 'no_stream', [{ type: 'TokenIssued', data: { tokenId, name: 'admin', role: 'admin', tokenHash } }], {
          actor: 'system:BERTH_ADMIN_TOKEN',
        });
      } catch {
        // Another replica seeded it first.
      }
    }
    await this.projections.catchUp();
  }

  async authenticate(token: string): Promise<Principal | null> {
    const { rows } = await this.pool.query<{ id: string; name: string; role: 'admin' }>(
      'SELECT id, name, role FROM api_tokens WHERE token_hash = $1',
      [hashToken(token)],
    );
    return rows[0] ? { tokenId: rows[0].id, name: rows[0].name, role: rows[0].role } : null;
  }
}
