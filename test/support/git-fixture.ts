/**
 * Git repositories for tests: a bare repo reachable as a file:// URL, holding a tiny app built FROM
 * the busybox base image that serves a message over HTTP. Every git call is an argv array.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { BUSYBOX_IMAGE } from './docker';

const run = promisify(execFile);

/** The port every fixture app listens on inside its container. */
export const FIXTURE_APP_PORT = 8080;

/**
 * healthy: busybox httpd serving /www on 8080.
 * never-listens: prints a line, then sleeps without listening.
 * wrong-port: serves on 8081, so 8080 never answers.
 * exits: prints a line and exits with code 3.
 * slow-build: healthy, but its build spends about 4 s in a RUN step (for catching a deploy mid-build).
 */
export type FixtureBehaviour = 'healthy' | 'never-listens' | 'wrong-port' | 'exits' | 'slow-build';

export interface AppRepo {
  /** file:// URL of the bare repository, usable by `git clone`. */
  url: string;
  branch: string;
  bareDir: string;
  workDir: string;
  /** sha of the branch head. */
  head: string;
  remove(): Promise<void>;
}

export interface CreateAppRepoOptions {
  message: string;
  dir?: string;
  behaviour?: FixtureBehaviour;
  branch?: string;
}

function cmdFor(behaviour: FixtureBehaviour): string[] {
  switch (behaviour) {
    case 'healthy':
    case 'slow-build':
      return ['busybox', 'httpd', '-f', '-p', String(FIXTURE_APP_PORT), '-h', '/www'];
    case 'never-listens':
      return ['busybox', 'sh', '-c', 'echo "app booting, will never listen"; echo "still not listening"; exec busybox sleep 3600'];
    case 'wrong-port':
      return ['busybox', 'httpd', '-f', '-p', String(FIXTURE_APP_PORT + 1), '-h', '/www'];
    case 'exits':
      return ['busybox', 'sh', '-c', 'echo "fatal: missing configuration"; exit 3'];
  }
}

export function fixtureDockerfile(behaviour: FixtureBehaviour = 'healthy'): string {
  return [
    `FROM ${BUSYBOX_IMAGE}`,
    'COPY index.html /www/index.html',
    ...(behaviour === 'slow-build' ? ['RUN ["busybox", "sh", "-c", "echo building slowly; busybox sleep 4; echo done building"]'] : []),
    `EXPOSE ${FIXTURE_APP_PORT}`,
    `CMD ${JSON.stringify(cmdFor(behaviour))}`,
    '',
  ].join('\n');
}

async function git(cwd: string, args: string[]): Promise<string> {
  const { stdout } = await run('git', ['-c', 'user.name=Berth Test', '-c', 'user.email=test@berth.invalid', '-c', 'commit.gpgsign=false', ...args], {
    cwd,
    env: { ...process.env, GIT_TERMINAL_PROMPT: '0' },
  });
  return stdout.trim();
}

async function writeApp(workDir: string, message: string, behaviour: FixtureBehaviour): Promise<void> {
  await writeFile(path.join(workDir, 'Dockerfile'), fixtureDockerfile(behaviour));
  await writeFile(path.join(workDir, 'index.html'), `${message}\n`);
}

async function commitAndPush(repo: Pick<AppRepo, 'workDir' | 'branch'>, message: string): Promise<string> {
  await git(repo.workDir, ['add', '-A']);
  await git(repo.workDir, ['commit', '-q', '-m', `serve ${message}`]);
  await git(repo.workDir, ['push', '-q', 'origin', `HEAD:refs/heads/${repo.branch}`]);
  return git(repo.workDir, ['rev-parse', 'HEAD']);
}

/** A bare repo with one commit: a Dockerfile whose app serves `message` at / (per `behaviour`). */
export async function createAppRepo(options: CreateAppRepoOptions): Promise<AppRepo> {
  const root = options.dir ?? (await mkdtemp(path.join(os.tmpdir(), 'berth-repo-')));
  const branch = options.branch ?? 'main';
  const bareDir = path.join(root, 'app.git');
  const workDir = path.join(root, 'work');
  await mkdir(bareDir, { recursive: true });
  await mkdir(workDir, { recursive: true });
  await git(bareDir, ['init', '-q', '--bare', `--initial-branch=${branch}`]);
  await git(workDir, ['init', '-q', `--initial-branch=${branch}`]);
  await git(workDir, ['remote', 'add', 'origin', bareDir]);
  await writeApp(workDir, options.message, options.behaviour ?? 'healthy');
  const repo: AppRepo = {
    url: pathToFileURL(bareDir).toString(),
    branch,
    bareDir,
    workDir,
    head: '',
    remove: () => rm(root, { recursive: true, force: true }),
  };
  repo.head = await commitAndPush(repo, options.message);
  return repo;
}

/** Adds a commit that changes the served string (and optionally the behaviour); returns its sha. */
export async function pushCommit(repo: AppRepo, message: string, behaviour: FixtureBehaviour = 'healthy'): Promise<string> {
  await writeApp(repo.workDir, message, behaviour);
  repo.head = await commitAndPush(repo, message);
  return repo.head;
}
