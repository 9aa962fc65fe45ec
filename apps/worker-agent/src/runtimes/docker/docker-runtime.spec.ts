import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { DockerRuntime } from './docker-runtime';

/** An Engine without BuildKit, as far as builds go: it refuses API version 2 the way such an Engine does. */
function engineWithoutBuildkit() {
  const versions: (string | undefined)[] = [];
  const docker = {
    async buildImage(_context: unknown, opts: { t: string; version?: string }) {
      versions.push(opts.version);
      if (opts.version === '2') throw Object.assign(new Error('(HTTP code 500) server error'), { statusCode: 500, json: { message: 'buildkit not supported by daemon' } });
      const stream = new PassThrough();
      stream.end(`{"stream":"Step 1/1 : FROM busybox\\n"}\n{"stream":"Successfully tagged ${opts.t}\\n"}\n`);
      return stream;
    },
  };
  return { docker: docker as unknown as Docker, versions };
}

describe('DockerRuntime builds', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('uses the classic builder from the first time the Engine refuses BuildKit on', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'berth-ctx-'));
    await writeFile(path.join(dir, 'Dockerfile'), 'FROM busybox\n');
    const { docker, versions } = engineWithoutBuildkit();
    const runtime = new DockerRuntime({ docker, logger: pino({ level: 'silent' }) });
    const lines: string[] = [];
    const build = (tag: string) => runtime.build({ type: 'git', appId: 'a', contextDir: dir!, dockerfilePath: 'Dockerfile', tag }, (l) => lines.push(l));
    expect(await build('berth-app-a:d1')).toBe('berth-app-a:d1');
    expect(await build('berth-app-a:d2')).toBe('berth-app-a:d2');
    expect(versions).toEqual(['2', undefined, undefined]);
    expect(lines).toEqual(['Step 1/1 : FROM busybox', 'Successfully tagged berth-app-a:d1', 'Step 1/1 : FROM busybox', 'Successfully tagged berth-app-a:d2']);
  });

  it('fails a build the Engine refuses for another reason, and keeps BuildKit', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'berth-ctx-'));
    await writeFile(path.join(dir, 'Dockerfile'), 'FROM busybox\n');
    const versions: (string | undefined)[] = [];
    const docker = {
      async buildImage(_context: unknown, opts: { version?: string }) {
        versions.push(opts.version);
        throw Object.assign(new Error('(HTTP code 500) server error'), { statusCode: 500, json: { message: 'no space left on device' } });
      },
    } as unknown as Docker;
    const runtime = new DockerRuntime({ docker, logger: pino({ level: 'silent' }) });
    const build = () => runtime.build({ type: 'git', appId: 'a', contextDir: dir!, dockerfilePath: 'Dockerfile', tag: 't' }, () => undefined);
    await expect(build()).rejects.toThrow('build failed: no space left on device');
    await expect(build()).rejects.toThrow('build failed: no space left on device');
    expect(versions).toEqual(['2', '2']);
  });
});
