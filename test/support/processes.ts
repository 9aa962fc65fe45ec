/**
 * Real Berth processes for end-to-end tests: the control plane and worker agents run from dist/
 * exactly as `npm run control-plane` / `npm run agent` run them, with output kept in a log file.
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

function findRepoRoot(from: string): string {
  for (let dir = from; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'scripts', 'build.mjs'))) return dir;
  }
  throw new Error(`no Berth checkout above ${from}`);
}

/** The checkout's root, whether this file runs from test/ (Vitest) or dist/test/ (benchmarks). */
export const repoRoot = findRepoRoot(__dirname);

/** Compiles apps/ and libs/ into dist/ (only files that changed). */
export function buildDist(): void {
  execFileSync(process.execPath, [path.join(repoRoot, 'scripts/build.mjs')], { stdio: 'inherit' });
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export interface BerthProcess {
  child: ChildProcess;
  logFile: string;
  log(): string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Logs and agent work dirs of this test process; removed when it exits unless BERTH_KEEP_TEST_LOGS=1. */
const scratch = mkdtempSync(path.join(os.tmpdir(), 'berth-e2e-'));
if (process.env.BERTH_KEEP_TEST_LOGS !== '1') process.once('exit', () => rmSync(scratch, { recursive: true, force: true }));
const logDir = scratch;

/** Every process started in this test file, so a failing test can print what they said. */
export const startedProcesses: Array<{ name: string; process: BerthProcess }> = [];

/** The V8 flags every Berth process runs with (scripts/node-flags.json): tests run what users run. */
export const NODE_FLAGS: string[] = JSON.parse(readFileSync(path.join(repoRoot, 'scripts/node-flags.json'), 'utf8')).flags;

export function startProcess(name: string, script: string, env: Record<string, string>, nodeFlags: readonly string[] = NODE_FLAGS): BerthProcess {
  const logFile = path.join(logDir, `${name}-${Date.now()}.log`);
  const out = createWriteStream(logFile);
  const child = spawn(process.execPath, [...nodeFlags, path.join(repoRoot, script)], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Both streams share one file: neither may end it, or the other's last words (a crash's stack) are lost.
  child.stdout!.pipe(out, { end: false });
  child.stderr!.pipe(out, { end: false });
  child.once('close', () => out.end());
  const started: BerthProcess = {
    child,
    logFile,
    log: () => readFileSync(logFile, 'utf8'),
    stop: (signal = 'SIGTERM') =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill(signal);
      }),
  };
  startedProcesses.push({ name, process: started });
  return started;
}

/** Polls `probe` until it returns a value (not undefined) or the deadline passes. */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000, everyMs = 200): Promise<T> {
  const until = Date.now() + timeoutMs;
  let lastErr: unknown;
  while (Date.now() < until) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      lastErr = err;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? `: ${String(lastErr)}` : ''}`);
}

export function startControlPlaneProcess(env: { databaseUrl: string; port: number; adminToken: string; extra?: Record<string, string>; nodeFlags?: readonly string[] }): BerthProcess {
  return startProcess('control-plane', 'dist/apps/control-plane/src/main.js', {
    DATABASE_URL: env.databaseUrl,
    BERTH_PORT: String(env.port),
    BERTH_HOST: '127.0.0.1',
    BERTH_ADMIN_TOKEN: env.adminToken,
    BERTH_POLL_INTERVAL_MS: '250',
    BERTH_LOG_LEVEL: 'info',
    ...env.extra,
  }, env.nodeFlags);
}

/** A fresh work dir for an agent (worker id, log cursors, checkouts); removed with the test's scratch. */
export function agentWorkDir(): string {
  return mkdtempSync(path.join(scratch, 'agent-'));
}

/** An agent; with `workDir`, the one a previous run of this worker's agent used (as on a real host). */
export function startAgentProcess(env: { url: string; token: string; workDir?: string; extra?: Record<string, string>; nodeFlags?: readonly string[] }): BerthProcess {
  return startProcess('agent', 'dist/apps/worker-agent/src/main.js', {
    BERTH_URL: env.url,
    BERTH_WORKER_TOKEN: env.token,
    BERTH_WORKER_DIR: env.workDir ?? agentWorkDir(),
    BERTH_LOG_LEVEL: 'info',
    ...(process.env.DOCKER_HOST ? { DOCKER_HOST: process.env.DOCKER_HOST } : {}),
    ...env.extra,
  }, env.nodeFlags);
}
