import { Controller, Get, HttpCode, Inject, ServiceUnavailableException } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { Pool } from 'pg';
import { PG_POOL } from '../../database/pg-pool';
import { Public } from '../auth/public.decorator';

@ApiTags('health')
@Controller()
export class HealthController {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /** 200 when the control plane can reach PostgreSQL. */
  @Public()
  @Get('healthz')
  @HttpCode(200)
  async healthz(): Promise<{ status: 'ok'; database: 'ok' }> {
    try {
      await this.pool.query('SELECT 1');
    } catch {
      throw new ServiceUnavailableException('PostgreSQL is not reachable');
    }
    return { status: 'ok', database: 'ok' };
  }
}
