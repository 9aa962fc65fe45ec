/**
 * Runtime logs from real containers through the agent, the control plane and PostgreSQL (seed 3):
 * what a container prints reaches `runtime_logs` sanitised, and an app writing about 100 lines a
 * second through a kill -9 of the control plane, then of the agent, has every line it wrote stored
 * exactly once — none lost, none twice — with stdout and stderr interleaved. Past the agent's buffer
 * (BERTH_LOG_BUFFER_BYTES, at its 1 MiB minimum here) lines are dropped, counted in the control
 * plane's /metrics and marked in the app's log.
 */
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBerth, type Berth } from '../support/berth';
import { docker, ensureBusyboxImage, removeAppImages, requireDockerOrSkip } from '../support/docker';
import { appContainers } from '../support/fault-tools';
import { COUNT_LINE, HOSTILE_OUTPUT, createAppRepo, type AppRepo, type FixtureBehaviour } from '../support/git-fixture';
import { buildDist, eventually } from '../support/processes';

const hasDocker = requireDockerOrSkip();

describe.skipIf(!hasDocker)('runtime logs from real containers', { timeout: 180_000 }, () => {
  let berth: Berth;
  let db: Client;
  const repos: AppRepo[] = [];
  const appIds: string[] = [];
  /** The app of the first test, printing once and then idle. */
  let quietAppId: string;

  beforeAll(async () => {
    buildDist();
    await ensureBusyboxImage();
    // Enough for the output of a control-plane restart at 100 lines/s many times over; a flood fills it.
    berth = await startBerth({ agentEnv: { BERTH_LOG_BUFFER_BYTES: String(1024 * 1024) } });
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
    const appId = (quietAppId = await deploy('hostile-output', 'prints-hostile-output'));
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

  // Last: the flood fills the agent's buffer, so the counting app loses lines here too.
  it('drops the oldest lines past the buffer while the control plane is down, counts them in /metrics and marks the gap', async () => {
    const FLOOD = 3_000;
    const flood = `{ head -c ${FLOOD * 1000} /dev/zero | tr '\\000' x | fold -w 1000; echo; } > /proc/1/fd/1`;
    const [container] = await appContainers(quietAppId);
    const droppedInMetrics = async () => {
      const text = await (await fetch(`${berth.base}/metrics`)).text();
      const m = new RegExp(`^berth_log_lines_dropped_total\\{worker_id="${berth.workerId}",app_id="${quietAppId}"\\} (\\d+)$`, 'm').exec(text);
      return m ? Number(m[1]) : 0;
    };

    await berth.restartControlPlane('SIGKILL', async () => {
      // 3 MB of 1,000-byte lines written into the container's stdout while nobody takes them.
      const exec = await docker.getContainer(container!.id).exec({ Cmd: ['busybox', 'sh', '-c', flood], AttachStdout: true, AttachStderr: true });
      const stream = await exec.start({});
      await new Promise((resolve) => stream.on('end', resolve).resume());
      expect((await exec.inspect()).ExitCode).toBe(0);
      const dropping = () => berth.agent.log().split('\n').some((l) => l.includes('log lines dropped') && l.includes(quietAppId));
      await eventually('the agent to drop lines of the flood', async () => (dropping() ? true : undefined), 30_000, 100);
    });

    // Every line of the flood is either stored or counted as dropped, and the reader sees where.
    const seen = await eventually('every line of the flood stored or counted as dropped', async () => {
      const { rows } = await db.query<{ n: string }>("SELECT count(*) AS n FROM runtime_logs WHERE app_id = $1 AND text = repeat('x', 1000)", [quietAppId]);
      const stored = Number(rows[0]!.n);
      const dropped = await droppedInMetrics();
      return stored + dropped === FLOOD ? { stored, dropped } : undefined;
    }, 60_000, 250);
    expect(seen.dropped).toBeGreaterThan(0);
    const markers = (await berth.api(`/api/apps/${quietAppId}/logs?q=${encodeURIComponent('were dropped here')}`)).body.lines as { stream: string; text: string }[];
    expect(markers.length, JSON.stringify(markers)).toBeGreaterThan(0);
    expect(markers[0]!.text).toMatch(/^\[berth\] \d+ log lines were dropped here/);
  });
});
