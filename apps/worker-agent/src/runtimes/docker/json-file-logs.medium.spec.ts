import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUSYBOX_IMAGE, docker, ensureBusyboxImage, removeContainersByLabel, requireDockerOrSkip } from '../../../../../test/support/docker';
import type { LogChunk } from '../runtime';
import { DockerRuntime } from './docker-runtime';
import { compareStamps } from './docker-logs';
import { JsonFileDecoder } from './json-file-logs';

const entry = (log: string, stream = 'stdout', time = '2026-12-03T13:19:40.123456789Z') => `${JSON.stringify({ log, stream, time })}\n`;
const text = (chunks: LogChunk[]) => chunks.map((c) => [c.stream, c.ts, c.data.toString('utf8')]);

describe('JsonFileDecoder', () => {
  it('reads plain entries in place and escaped ones through JSON, whole lines and pieces alike', () => {
    const d = new JsonFileDecoder();
    const all = [
      entry('plain line\n'),
      entry('to stderr\n', 'stderr', '2026-12-03T13:19:40.5Z'),
      entry('tab\there "quoted" \u001b[31mred\u001b[0m back\\slash\n'),
      entry('a piece of a long line without its end'),
      entry('caf\u00e9 \u20ac <&>\n'),
      // Docker's own escaping of <, > and &.
      '{"log":"\\u003cb\\u003e \\u0026\\n","stream":"stdout","time":"2026-12-03T13:19:41Z"}\n',
    ].join('');
    const bytes = Buffer.from(all, 'utf8');
    // Fed in pieces that split entries (and characters) anywhere.
    const out: LogChunk[] = [];
    for (let at = 0; at < bytes.length; at += 7) out.push(...d.push(Buffer.from(bytes.subarray(at, at + 7))));
    expect(d.pending).toBe(false);
    expect(text(out)).toEqual([
      ['stdout', '2026-12-03T13:19:40.123456789Z', 'plain line\n'],
      ['stderr', '2026-12-03T13:19:40.5Z', 'to stderr\n'],
      ['stdout', '2026-12-03T13:19:40.123456789Z', 'tab\there "quoted" \u001b[31mred\u001b[0m back\\slash\n'],
      ['stdout', '2026-12-03T13:19:40.123456789Z', 'a piece of a long line without its end'],
      ['stdout', '2026-12-03T13:19:40.123456789Z', 'caf\u00e9 \u20ac <&>\n'],
      ['stdout', '2026-12-03T13:19:41Z', '<b> &\n'],
    ]);
  });

  it('compares Docker stamps whatever their fraction length', () => {
    expect(compareStamps('2026-12-03T13:19:40.5Z', '2026-12-03T13:19:40.499999999Z')).toBeGreaterThan(0);
    expect(compareStamps('2026-12-03T13:19:40Z', '2026-12-03T13:19:40.000000000Z')).toBe(0);
    expect(compareStamps('2026-12-03T13:19:40.999Z', '2026-12-03T13:19:41Z')).toBeLessThan(0);
    expect(compareStamps('2026-12-03T13:19:40.12Z', '2026-12-03T13:19:40.120000001Z')).toBeLessThan(0);
  });
});

const hasDocker = requireDockerOrSkip();
const LABEL = 'berth.test.json-file-logs';

describe.skipIf(!hasDocker)('following the json-file log (real Docker Engine)', () => {
  const run = randomBytes(4).toString('hex');
  const runtime = new DockerRuntime({ docker, logger: pino({ level: 'silent' }), logSource: 'file' });

  beforeAll(async () => {
    await ensureBusyboxImage();
  });
  afterAll(async () => {
    await removeContainersByLabel(`${LABEL}=${run}`);
  });

  /** A container that waits for /tmp/go, then runs `script`; its log rotates every `maxSize`. */
  async function container(script: string, maxSize: string) {
    const c = await docker.createContainer({
      Image: BUSYBOX_IMAGE,
      Cmd: ['sh', '-c', `while [ ! -e /tmp/go ]; do usleep 10000; done; ${script}`],
      Labels: { [LABEL]: run },
      HostConfig: { Init: true, LogConfig: { Type: 'json-file', Config: { 'max-size': maxSize, 'max-file': '3' } } },
    });
    await c.start();
    const go = async () => {
      const e = await c.exec({ Cmd: ['touch', '/tmp/go'] });
      await e.start({});
    };
    return { c, go };
  }

  it('reads every line once, in order, while Docker rotates and deletes files faster than a slow reader reads them', async () => {
    // 4,000 lines of about 100 bytes of JSON each into 20 kB files kept 3 at a time: about 20 rotations,
    // at a pace of one every 100 ms or so (a rotation check's period), while the reader lags seconds behind.
    const { c, go } = await container('i=0; while [ $i -lt 4000 ]; do i=$((i+1)); echo "line $i"; [ $((i % 100)) = 0 ] && usleep 50000; done', '20k');
    const got: string[] = [];
    const follower = runtime.followLogs(c.id, {}, async (chunks) => {
      for (const ch of chunks) got.push(ch.data.toString('utf8'));
      // A sink that makes the reader wait, as a busy control plane does.
      await new Promise((r) => setTimeout(r, 400));
    });
    await go();
    await c.wait();
    expect(await follower.done).toEqual({ reason: 'ended' });
    const lines = got.join('').split('\n').filter(Boolean);
    expect(lines.length).toBe(4000);
    expect(lines).toEqual(Array.from({ length: 4000 }, (_, i) => `line ${i + 1}`));
  }, 60_000);

  it('starts at `since` (inclusive), passing over rotated files entirely before it', async () => {
    const { c, go } = await container('i=0; while [ $i -lt 3000 ]; do i=$((i+1)); echo "line $i"; done', '50k');
    await go();
    await c.wait();
    const all: LogChunk[] = [];
    const first = runtime.followLogs(c.id, {}, (chunks) => void all.push(...chunks));
    expect(await first.done).toEqual({ reason: 'ended' });
    // What is still on disk: the last three files' lines, the newest last.
    const texts = all.map((ch) => ch.data.toString('utf8'));
    expect(texts[texts.length - 1]).toBe('line 3000\n');
    const from = all[Math.floor(all.length * 0.8)]!;
    const later: LogChunk[] = [];
    const second = runtime.followLogs(c.id, { since: from.ts }, (chunks) => void later.push(...chunks));
    expect(await second.done).toEqual({ reason: 'ended' });
    expect(later.map((ch) => ch.data.toString('utf8'))).toEqual(all.filter((ch) => compareStamps(ch.ts, from.ts) >= 0).map((ch) => ch.data.toString('utf8')));
  }, 60_000);

  it('stops when asked, without waiting for the container', async () => {
    const { c, go } = await container('exec sleep 60', '1m');
    await go();
    const follower = runtime.followLogs(c.id, {}, () => undefined);
    follower.stop();
    expect(await follower.done).toEqual({ reason: 'stopped' });
  }, 30_000);
});
