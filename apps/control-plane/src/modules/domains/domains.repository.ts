import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import { PG_POOL } from '../../database/pg-pool';
import type { DomainStatus } from './domains.decider';

export interface DomainRow {
  id: string;
  app_id: string;
  hostname: string;
  token: string;
  status: Exclude<DomainStatus, 'none' | 'removed'>;
  reason: string | null;
  created_at: Date;
}

/** The domains module's table (`domains`): the only SQL that names it outside the projector. */
@Injectable()
export class DomainsRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  async listForApp(appId: string): Promise<DomainRow[]> {
    return (await this.pool.query<DomainRow>(`SELECT * FROM domains WHERE app_id = $1 ORDER BY created_at, hostname`, [appId])).rows;
  }

  async get(domainId: string): Promise<DomainRow | undefined> {
    return (await this.pool.query<DomainRow>(`SELECT * FROM domains WHERE id = $1`, [domainId])).rows[0];
  }

  async listVerified(): Promise<Pick<DomainRow, 'id' | 'hostname'>[]> {
    return (await this.pool.query<Pick<DomainRow, 'id' | 'hostname'>>(`SELECT id, hostname FROM domains WHERE status = 'verified' ORDER BY id`)).rows;
  }
}
