/** Starts a control plane in this process on a random port against a test database. */
import type { INestApplication } from '@nestjs/common';
import { loadControlPlaneConfig, type ControlPlaneConfig } from '@berth/config';
import type { AddressInfo } from 'node:net';
import { createControlPlane } from '../../apps/control-plane/src/bootstrap';

export const TEST_ADMIN_TOKEN = 'bat_test_admin_token_0123456789';

export interface RunningControlPlane {
  app: INestApplication;
  url: string;
  config: ControlPlaneConfig;
  /** fetch against the control plane with the admin token unless headers say otherwise. */
  api(path: string, init?: RequestInit & { json?: unknown; token?: string | null }): Promise<Response>;
  close(): Promise<void>;
}

export async function startControlPlane(databaseUrl: string, overrides: Partial<ControlPlaneConfig> = {}): Promise<RunningControlPlane> {
  const config: ControlPlaneConfig = {
    ...loadControlPlaneConfig({ DATABASE_URL: databaseUrl, BERTH_ADMIN_TOKEN: TEST_ADMIN_TOKEN, BERTH_LOG_LEVEL: 'warn', BERTH_POLL_INTERVAL_MS: '200' }),
    port: 0,
    host: '127.0.0.1',
    ...overrides,
  };
  const app = await createControlPlane(config);
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  return {
    app,
    url,
    config,
    api(path, init = {}) {
      const headers = new Headers(init.headers);
      const token = init.token === undefined ? TEST_ADMIN_TOKEN : init.token;
      if (token !== null) headers.set('authorization', `Bearer ${token}`);
      let body = init.body;
      if (init.json !== undefined) {
        headers.set('content-type', 'application/json');
        body = JSON.stringify(init.json);
      }
      return fetch(url + path, { ...init, headers, body });
    },
    close: () => app.close(),
  };
}
