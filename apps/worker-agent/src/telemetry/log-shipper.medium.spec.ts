import { randomBytes } from 'node:crypto';
import { LOG_LINE_MAX_BYTES, noopLogger, systemClock } from '@berth/core';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUSYBOX_IMAGE, docker, ensureBusyboxImage, removeContainersByLabel, requireDockerOrSkip, tempDir } from '../../../../test/support/docker';
import { DockerRuntime } from '../runtimes/docker/docker-runtime';
import { LogCursorStore } from './log-cursor-store';
import { LogShipper } from './log-shipper';
import { MemorySink } from './telemetry.testing';

const hasDocker = requireDockerOrSkip();
const LABEL = 'berth.test.log-shipper';

describe.skipIf(!hasDocker).each(['file', 'engine'] as const)('LogShipper (real Docker Engine, logs read from %s)', (logSource) => {
  const run = randomBytes(4).toString('hex');
  const runtime = new DockerRuntime({ docker, logger: pino({ level: 'silent' }), logSource });
  const cleanups: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    await ensureBusyboxImage();
  });
  afterAll(async () => {
    await removeContainersByLabel(`${LABEL}=${run}`);
    for (const c of cleanups) await c();
  });

  async function container(script: string): Promise<{ containerId: string; appId: string; deploymentId: string }> {
    const c = await docker.createContainer({ Image: BUSYBOX_IMAGE, Cmd: ['sh', '-c', script], Labels: { [LABEL]: run }, HostConfig: { Init: true } });
    return { containerId: c.id, appId: `app-${run}`, deploymentId: `dep-${run}` };
  }

  async function shipper(sink: MemorySink, dir: string): Promise<LogShipper> {
    return new LogShipper({ runtime, sink, clock: systemClock, cursors: new LogCursorStore(dir), logger: noopLogger }, { cursorSaveIntervalMs: 200 });
  }

  async function workDir(): Promise<string> {
    const { dir, remove } = await tempDir('berth-log-cursors-');
    cleanups.push(remove);
    return dir;
  }

  it('ships what a real container prints by the seed rules: no escapes, no NUL, valid UTF-8, at most 8 KiB', async () => {
    const script = [
      "printf '\\033[1;31mred\\033[0m and \\033[38;5;208morange\\033[m\\n'",
      "printf 'cursor\\033[2K\\033[1G\\033[3Amoved\\033[?25l\\n'",
      "printf '\\033]0;title ended by BEL\\007after BEL\\n'",
      "printf '\\033]2;title ended by ST\\033\\\\after ST\\n'",
      "printf 'nul\\000in\\000the middle\\n'",
      "printf 'bad \\377\\376 utf8\\n'",
      "head -c 1048576 /dev/zero | tr '\\000' x; printf '\\n'",
      "head -c 8191 /dev/zero | tr '\\000' a; printf '\\303\\251 straddles\\n'",
      "printf 'plain end'",
    ].join('; ');
    const ref = await container(script);
    await docker.getContainer(ref.containerId).start();
    await docker.getContainer(ref.containerId).wait();
    const sink = new MemorySink();
    const s = await shipper(sink, await workDir());
    // A stopped container is read to the end of its output once.
    await s.sync([{ ...ref, running: false }]);
    await waitFor(() => s.followed.length === 0);
    const lines = sink.logLines();
    expect(lines.map((l) => [l.seq, l.text.length > 40 ? `${l.text.slice(0, 3)}…(${Buffer.byteLength(l.text)} bytes)` : l.text, l.truncated])).toEqual([
      [1, 'red and orange', false],
      [2, 'cursormoved', false],
      [3, 'after BEL', false],
      [4, 'after ST', false],
      [5, 'nulinthe middle', false],
      [6, 'bad \ufffd\ufffd utf8', false],
      [7, `xxx…(${LOG_LINE_MAX_BYTES} bytes)`, true],
      [8, 'aaa…(8191 bytes)', true],
      [9, 'plain end', false],
    ]);
    for (const l of lines) {
      const bytes = Buffer.from(l.text, 'utf8');
      expect(bytes.length).toBeLessThanOrEqual(LOG_LINE_MAX_BYTES);
      expect(new TextDecoder('utf-8', { fatal: true }).decode(bytes)).toBe(l.text);
      expect(l.text).not.toMatch(/[\u0000\u001b]/);
    }
  }, 60_000);

  it('after an agent restart, resumes with no line twice and none skipped while the container writes 100 lines/s', async () => {
    // Three lines per write (they may share a stamp), about 100 lines a second, for about 4 s.
    const ref = await container('i=0; while [ $i -lt 130 ]; do i=$((i+1)); printf "a $i\\nb $i\\nc $i\\n"; sleep 0.03; done');
    const dir = await workDir();
    const sink = new MemorySink();
    await docker.getContainer(ref.containerId).start();
    const first = await shipper(sink, dir);
    await first.sync([{ ...ref, running: true }]);
    await waitFor(() => sink.logLines().length >= 60);
    await first.stop();
    const shippedBefore = sink.logLines().length;
    // The agent is down for a while; the container goes on writing.
    await new Promise((r) => setTimeout(r, 700));
    const second = await shipper(sink, dir);
    await second.sync([{ ...ref, running: true }]);
    await docker.getContainer(ref.containerId).wait();
    await waitFor(() => second.followed.length === 0);
    const lines = sink.logLines();
    const expected = Array.from({ length: 130 }, (_, i) => [`a ${i + 1}`, `b ${i + 1}`, `c ${i + 1}`]).flat();
    expect(shippedBefore).toBeLessThan(expected.length);
    expect(lines.map((l) => l.text)).toEqual(expected);
    expect(lines.map((l) => l.seq)).toEqual(expected.map((_, i) => i + 1));
  }, 60_000);
});

/** Polls a condition the code under test has no event for (a follower ending inside the shipper). */
async function waitFor(ok: () => boolean, timeoutMs = 30_000): Promise<void> {
  const until = performance.now() + timeoutMs;
  while (!ok()) {
    if (performance.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
