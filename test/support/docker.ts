/**
 * Docker for tests: is a daemon there, the tiny base image every test app is built FROM, and
 * label-based cleanup. No image can be pulled here, so the base image is imported from the host's
 * static busybox (Debian's busybox-static).
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, open, readFile, rm, stat, unlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { pack } from 'tar-stream';

const run = promisify(execFile);

export const BUSYBOX_IMAGE = 'berth-test/busybox:latest';
const BUSYBOX_BINARY = '/bin/busybox';

/** The daemon's socket: DOCKER_HOST when it is a unix:// URL, else the standard path. */
export const DOCKER_SOCKET = process.env.DOCKER_HOST?.startsWith('unix://') ? process.env.DOCKER_HOST.slice('unix://'.length) : '/var/run/docker.sock';

export const docker = new Docker({ socketPath: DOCKER_SOCKET });

export async function dockerAvailable(): Promise<boolean> {
  try {
    const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), 3000).unref());
    await Promise.race([docker.ping(), timeout]);
    return true;
  } catch {
    return false;
  }
}

/** The same question, answered synchronously (a ping from a child process), for describe.skipIf. */
export function dockerAvailableSync(): boolean {
  const script =
    `require('http').get({socketPath:${JSON.stringify(DOCKER_SOCKET)},path:'/_ping',timeout:3000},` +
    '(r)=>process.exit(r.statusCode===200?0:1)).on(\'error\',()=>process.exit(1)).on(\'timeout\',()=>process.exit(1))';
  return spawnSync(process.execPath, ['-e', script], { timeout: 5000, stdio: 'ignore' }).status === 0;
}

/**
 * Whether Docker tests should run: `describe.skipIf(!requireDockerOrSkip())`. Without a daemon
 * they skip, unless BERTH_REQUIRE_DOCKER=1 (CI), where a missing daemon fails the test file.
 */
export function requireDockerOrSkip(): boolean {
  if (dockerAvailableSync()) return true;
  if (process.env.BERTH_REQUIRE_DOCKER === '1') {
    throw new Error(`BERTH_REQUIRE_DOCKER=1 but no Docker Engine answers on ${DOCKER_SOCKET}`);
  }
  return false;
}

async function imageExists(tag: string): Promise<boolean> {
  try {
    await docker.getImage(tag).inspect();
    return true;
  } catch {
    return false;
  }
}

/** A tar of a root filesystem: /bin/busybox plus one symlink per applet, and the usual empty dirs. */
async function busyboxRootfsTar(): Promise<Buffer> {
  const binary = await readFile(BUSYBOX_BINARY);
  const { stdout } = await run(BUSYBOX_BINARY, ['--list']);
  const applets = new Set(stdout.split('\n').map((a) => a.trim()).filter((a) => a && a !== 'busybox'));
  applets.add('sh');
  const tar = pack();
  const chunks: Buffer[] = [];
  tar.on('data', (c: unknown) => chunks.push(c as Buffer));
  const ended = new Promise<void>((resolve, reject) => {
    tar.on('end', () => resolve());
    tar.on('error', reject);
  });
  for (const dir of ['bin', 'etc', 'tmp', 'www', 'proc', 'sys', 'dev', 'root']) {
    tar.entry({ name: dir, type: 'directory', mode: dir === 'tmp' ? 0o1777 : 0o755 });
  }
  tar.entry({ name: 'bin/busybox', mode: 0o755 }, binary);
  for (const applet of applets) tar.entry({ name: `bin/${applet}`, type: 'symlink', linkname: 'busybox' });
  tar.entry({ name: 'etc/passwd', mode: 0o644 }, 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n');
  tar.entry({ name: 'etc/group', mode: 0o644 }, 'root:x:0:\nnogroup:x:65534:\n');
  tar.finalize();
  await ended;
  return Buffer.concat(chunks);
}

/** One importer at a time across test processes: an exclusive lock file, stale after a minute. */
async function withImportLock<T>(fn: () => Promise<T>): Promise<T> {
  const lock = path.join(os.tmpdir(), 'berth-test-busybox-import.lock');
  for (;;) {
    try {
      const handle = await open(lock, 'wx');
      await handle.close();
      break;
    } catch {
      const info = await stat(lock).catch(() => null);
      if (info && Date.now() - info.mtimeMs > 60_000) await unlink(lock).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  try {
    return await fn();
  } finally {
    await unlink(lock).catch(() => undefined);
  }
}

/** Makes sure the busybox base image exists (idempotent; safe to call from parallel test files). */
export async function ensureBusyboxImage(tag = BUSYBOX_IMAGE): Promise<string> {
  if (await imageExists(tag)) return tag;
  return withImportLock(async () => {
    if (await imageExists(tag)) return tag;
    const [repo, version] = tag.includes(':') ? [tag.slice(0, tag.lastIndexOf(':')), tag.slice(tag.lastIndexOf(':') + 1)] : [tag, 'latest'];
    const stream = await docker.importImage(Readable.from([await busyboxRootfsTar()]), { repo, tag: version });
    await new Promise<void>((resolve, reject) => {
      docker.modem.followProgress(stream, (err: Error | null) => (err ? reject(err) : resolve()));
    });
    if (!(await imageExists(tag))) throw new Error(`docker import did not produce ${tag}`);
    return tag;
  });
}

/** Force-removes every container carrying the label (`key` or `key=value`). */
export async function removeContainersByLabel(label: string): Promise<number> {
  const found = await docker.listContainers({ all: true, filters: { label: [label] } });
  await Promise.all(found.map((c) => docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => undefined)));
  return found.length;
}

/** Removes every image carrying the label (app images are built with berth.app=<appId>). */
/** Removes the images Berth built for an app (tagged berth-app-<appId>:<deploymentId>). */
export async function removeAppImages(appId: string): Promise<number> {
  // By tag, never by id: identical builds of other apps share the id, and must keep their tags.
  const found = await docker.listImages({ filters: { reference: [`berth-app-${appId}`] } });
  const tags = found.flatMap((image) => image.RepoTags ?? []).filter((t) => t.startsWith(`berth-app-${appId}:`));
  for (const tag of tags) await docker.getImage(tag).remove().catch(() => undefined);
  return tags.length;
}

/** A scratch directory under the OS temp dir, removed by the returned function. */
export async function tempDir(prefix: string): Promise<{ dir: string; remove: () => Promise<void> }> {
  await mkdir(os.tmpdir(), { recursive: true });
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}
