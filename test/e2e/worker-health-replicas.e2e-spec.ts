/**
 * Two control-plane replicas (real processes) on one database, the agent connected to replica B while
 * replica A holds the offline-detection lock. A is killed (kill -9), then the agent goes silent with its
 * connection open (SIGSTOP): B takes the lock over within a few seconds, detects the silence, and the
 * offline transition is recorded exactly once.
 */
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lockKeyOf } from '../../apps/control-plane/src/common/leader-lock';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { removeContainersByLabel, requireDockerOrSkip } from '../support/docker';
import { readEvents } from '../support/fault-tools';
import { buildDist, eventually, freePort, startAgentProcess, startControlPlaneProcess, type BerthProcess } from '../support/processes';

const hasDocker = requireDockerOrSkip();
const GRACE_MS = 7_000;
const [NS, KEY] = lockKeyOf('worker-offline-detection');

describe.skipIf(!hasDocker)('offline detection across two control-plane replicas', { timeout: 120_000 }, () => {
  let db: TestDatabase;
  let pg: Client;
  const adminToken = `bat_${randomBytes(18).toString('base64url')}`;
  const procs: BerthProcess[] = [];
  let workerId: string | undefined;

  const startReplica = async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const proc = startControlPlaneProcess({ databaseUrl: db.url, port, adminToken, extra: { BERTH_WORKER_GRACE_MS: String(GRACE_MS) } });
    procs.push(proc);
    await eventually('the replica to answer /healthz', async () => ((await fetch(`${base}/healthz`)).ok ? true : undefined), 60_000);
    return { base, proc };
  };
  const api = async (base: string, path: string, json?: unknown) => {
    const res = await fetch(base + path, {
      method: json === undefined ? 'GET' : 'POST',
      headers: { authorization: `Bearer ${adminToken}`, ...(json === undefined ? {} : { 'content-type': 'application/json' }) },
      body: json === undefined ? undefined : JSON.stringify(json),
    });
    return { status: res.status, body: (await res.json()) as any }; // eslint-disable-line @typescript-eslint/no-explicit-any
  };
  /** The backend holding the offline-detection lock, if any. */
  const lockHolder = async (): Promise<number | undefined> => {
    const { rows } = await pg.query<{ pid: number }>(
      // Advisory locks are per database: other test databases on this server hold the same key.
      `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = $1::int::oid AND objid = $2::int::oid AND objsubid = 2
          AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      [NS, KEY],
    );
    return rows[0]?.pid;
  };

  beforeAll(async () => {
    buildDist();
    db = await createTestDatabase();
    pg = new Client({ connectionString: db.url });
    await pg.connect();
  }, 60_000);

  afterAll(async () => {
    for (const p of procs) {
      if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGCONT');
      await p.stop();
    }
    if (workerId) await removeContainersByLabel(`berth.worker=${workerId}`);
    await pg?.end();
    await db?.drop();
  });

  it('the surviving replica takes over detection within seconds and records the offline once', async () => {
    const a = await startReplica();
    const leaderA = await eventually('replica A to hold the detection lock', lockHolder, 10_000, 100);
    const b = await startReplica();
    expect(await lockHolder()).toBe(leaderA);

    const worker = await api(a.base, '/api/workers', { name: 'replicated' });
    expect(worker.status).toBe(201);
    workerId = worker.body.id as string;
    const agent = startAgentProcess({ url: b.base, token: worker.body.token });
    procs.push(agent);
    await eventually('the worker to be online', async () => ((await api(b.base, `/api/workers/${workerId}`)).body.status === 'online' ? true : undefined), 30_000, 100);

    a.proc.child.kill('SIGKILL');
    const killedAt = Date.now();
    const leaderB = await eventually('replica B to take the detection lock', async () => {
      const holder = await lockHolder();
      return holder !== undefined && holder !== leaderA ? holder : undefined;
    }, 10_000, 50).catch(async (err: Error) => {
      const { rows } = await pg.query(`SELECT l.pid, l.objid, a.application_name FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`);
      throw new Error(`${err.message} (A's backend was ${leaderA}; advisory locks held now: ${JSON.stringify(rows)})`);
    });
    const takeoverMs = Date.now() - killedAt;
    expect(takeoverMs).toBeLessThan(5_000);
    expect(leaderB).not.toBe(leaderA);

    agent.child.kill('SIGSTOP');
    const stoppedAt = Date.now();
    await eventually('the worker to be offline', async () => ((await api(b.base, `/api/workers/${workerId}`)).body.status === 'offline' ? true : undefined), 30_000, 100);
    // B watches a whole grace period after taking over; the silence began after that anyway.
    expect(Date.now() - stoppedAt).toBeLessThanOrEqual(GRACE_MS + 5_000 + 1_000);

    const offline = await readEvents(db.url, ['WorkerWentOffline']);
    expect(offline.map((e) => e.data)).toEqual([expect.objectContaining({ workerId, lastHeartbeatAt: expect.any(String) })]);
    // Nothing more is recorded while it stays silent.
    await new Promise((r) => setTimeout(r, 3_000));
    expect(await readEvents(db.url, ['WorkerWentOffline'])).toHaveLength(1);
  });
});
