/**
 * Runtime logs from real containers through the agent, the control plane and PostgreSQL (seed 3):
 * what a container prints reaches `runtime_logs` sanitised, and an app writing about 100 lines a
 * second through a kill -9 of the control plane, then of the agent, has every line it wrote stored
 * exactly once — none lost, none twice — with stdout and stderr interleaved.
 */
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBerth, type Berth } from '../support/berth';
import { ensureBusyboxImage, removeAppImages, requireDockerOrSkip } from '../support/docker';
import { COUNT_LINE, HOSTILE_OUTPUT, createAppRepo, type AppRepo, type FixtureBehaviour } from '../support/git-fixture';
import { buildDist, eventually } from '../support/processes';

const hasDocker = requireDockerOrSkip();

describe.skipIf(!hasDocker)('runtime logs from real containers', { timeout: 180_000 }, () => {
  let berth: Berth;
  let db: Client;
  const repos: AppRepo[] = [];
  const appIds: string[] = [];

  beforeAll(async () => {
    buildDist();
    await ensureBusyboxImage();
    berth = await startBerth();
    db = new Client({ connectionString: berth.databaseUrl });
    await db.connect();
  }, 180_000);

  afterAll(async () => {
    await db?.end();
    await berth?.close();
    await Promise.all(appIds.map((id) => removeAppImages(id).catch(() => undefined)));
    await Promise.all(repos.map((r) => r.remove()));
  });

  const deploy = async (name: string, behaviour: FixtureBehaviour): Promise<string> => {
    const repo = await createAppRepo({ message: name, behaviour });
    repos.push(repo);
    const app = await berth.api('/api/apps', { json: { name, source: { type: 'git', repoUrl: repo.url, branch: 'main' }, port: 8080, memoryMb: 64 } });
    expect(app.status, JSON.stringify(app.body)).toBe(201);
    appIds.push(app.body.id);
    const d = await berth.api(`/api/apps/${app.body.id}/deployments`, { method: 'POST' });
    const done = await berth.waitDeployment(d.body.id);
    expect(done.status, done.reason).toBe('succeeded');
    return app.body.id;
  };

  it('stores what a container prints with escapes, NUL, bad UTF-8 and long lines removed or cut by the rules', async () => {
    const appId = await deploy('hostile-output', 'prints-hostile-output');
    type Line = { stream: string; text: string; truncated: boolean };
    const lines = await eventually(
      'the last lines of both streams in the logs API',
      async () => {
        const body = (await berth.api(`/api/apps/${appId}/logs?limit=1000`)).body as { lines: Line[] };
        const texts = body.lines.map((l) => l.text);
        return texts.includes('after the long lines') && texts.includes('to stderr') ? body.lines : undefined;
      },
      60_000,
    );
    const view = (l: Line) => ({ stream: l.stream, text: l.text, truncated: l.truncated });
    // Docker copies the two streams separately: their order against each other is not kept, each one's is.
    for (const stream of ['stdout', 'stderr'] as const) {
      expect(lines.filter((l) => l.stream === stream).map(view)).toEqual(HOSTILE_OUTPUT.filter((l) => l.stream === stream).map(view));
    }
    for (const l of lines) {
      expect(Buffer.byteLength(l.text, 'utf8')).toBeLessThanOrEqual(8192);
      expect(l.text).not.toMatch(/[\u0000\u001b]/);
    }
  });

  describe('an app writing about 100 lines a second', () => {
    let appId: string;

    /** How often each line of the app is in runtime_logs, by "count <n>" text. */
    const stored = async (): Promise<Map<string, number>> => {
      const { rows } = await db.query<{ text: string; n: string }>('SELECT text, count(*) AS n FROM runtime_logs WHERE app_id = $1 GROUP BY text', [appId]);
      return new Map(rows.map((r) => [r.text, Number(r.n)]));
    };
    const highest = (lines: Map<string, number>): number => Math.max(0, ...[...lines.keys()].map((t) => Number(COUNT_LINE.exec(t)?.[1] ?? 0)));
    const waitFor = (n: number) =>
      eventually(`line "count ${n}" in runtime_logs`, async () => {
        const lines = await stored();
        return highest(lines) >= n ? lines : undefined;
      }, 60_000, 250);

    /** Every line the app wrote up to `last`, stdout and stderr, is there exactly once. */
    const expectEachOnce = (lines: Map<string, number>, last: number) => {
      const missing: string[] = [];
      const repeated: string[] = [];
      for (let n = 1; n <= last; n++) {
        for (const text of n % 10 === 0 ? [`count ${n}`, `count ${n} on stderr`] : [`count ${n}`]) {
          const times = lines.get(text) ?? 0;
          if (times === 0) missing.push(text);
          if (times > 1) repeated.push(`${text} (${times} times)`);
        }
      }
      expect({ missing, repeated }).toEqual({ missing: [], repeated: [] });
    };

    /** The number of a line the app wrote (by its own clock's stamp, the host's) at least `ms` after `at`. */
    const writtenAfter = (at: Date, ms: number) =>
      eventually(`a line written ${ms} ms after the restart`, async () => {
        const { rows } = await db.query<{ text: string }>(
          "SELECT text FROM runtime_logs WHERE app_id = $1 AND stream = 'stdout' AND ts > $2 ORDER BY ts DESC LIMIT 1",
          [appId, new Date(at.getTime() + ms)],
        );
        return rows[0] ? Number(COUNT_LINE.exec(rows[0].text)?.[1]) : undefined;
      }, 60_000, 250);

    /** Kills one process with SIGKILL while the app writes, restarts it, and checks every line written across it. */
    const throughKill = async (restart: () => Promise<void>) => {
      await waitFor(highest(await stored()) + 200);
      await restart();
      // Everything written before the kill, while the process was down and for two seconds after it came back.
      const last = await writtenAfter(new Date(), 2_000);
      // Lines arrive in order per stream: once a later one is in, every line up to `last` has had its turn.
      const lines = await waitFor(last + 20);
      expectEachOnce(lines, last);
    };

    beforeAll(async () => {
      appId = await deploy('counting', 'counts');
    }, 180_000);

    it('keeps every line exactly once through a kill -9 of the control plane', async () => {
      await throughKill(() => berth.restartControlPlane('SIGKILL'));
    });

    it('keeps every line exactly once through a kill -9 of the agent', async () => {
      await throughKill(() => berth.restartAgent('SIGKILL'));
    });
  });
});
