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
 * counts: healthy, and prints "count 1", "count 2", … on stdout, about 100 lines a second, for ever;
 *   every tenth number also goes to stderr at once ("count 10 on stderr"), so both streams interleave.
 * prints-hostile-output: healthy, and prints once the output a log sanitiser must clean (HOSTILE_OUTPUT).
 */
export type FixtureBehaviour = 'healthy' | 'never-listens' | 'wrong-port' | 'exits' | 'slow-build' | 'counts' | 'prints-hostile-output';

/** The lines `counts` prints: "count <n>" from 1 on stdout, "count <n> on stderr" for every tenth. */
export const COUNT_LINE = /^count (\d+)( on stderr)?$/;

/**
 * What `prints-hostile-output` prints (a sh script of printf calls, the stdout part in order) and the
 * line a reader must see for each, by the seed's rules: escape sequences and NUL removed, invalid UTF-8
 * replaced, lines cut to 8 KiB of UTF-8 without splitting a character.
 */
export const HOSTILE_OUTPUT: { script: string; stream: 'stdout' | 'stderr'; text: string; truncated: boolean }[] = [
  { script: "printf '\\033[1;31mred\\033[0m and \\033[32mgreen\\033[0m\\n'", stream: 'stdout', text: 'red and green', truncated: false },
  { script: "printf '\\033[2J\\033[Hcleared \\033[5Cmoved\\033[1A up\\n'", stream: 'stdout', text: 'cleared moved up', truncated: false },
  { script: "printf '\\033]0;a window title\\007after bel\\n'", stream: 'stdout', text: 'after bel', truncated: false },
  { script: "printf '\\033]2;another title\\033\\\\after st\\n'", stream: 'stdout', text: 'after st', truncated: false },
  { script: "printf 'nul\\000byte\\n'", stream: 'stdout', text: 'nulbyte', truncated: false },
  { script: "printf 'bad \\377\\376 bytes\\n'", stream: 'stdout', text: 'bad \uFFFD\uFFFD bytes', truncated: false },
  { script: "printf 'caf\\303\\251 \\342\\202\\254 \\360\\237\\232\\242\\n'", stream: 'stdout', text: 'café € 🚢', truncated: false },
  // 1 MiB on one line: Docker splits it into 16 KiB pieces; the reader gets its first 8 KiB.
  { script: "head -c 1048576 /dev/zero | tr '\\000' z; echo", stream: 'stdout', text: 'z'.repeat(8192), truncated: true },
  // A two-byte character on bytes 8,192-8,193: cut before it, not through it.
  { script: "head -c 8191 /dev/zero | tr '\\000' a; printf '\\303\\251\\n'", stream: 'stdout', text: 'a'.repeat(8191), truncated: true },
  // A four-byte character on bytes 8,190-8,193.
  { script: "head -c 8189 /dev/zero | tr '\\000' b; printf '\\360\\237\\232\\242\\n'", stream: 'stdout', text: 'b'.repeat(8189), truncated: true },
  // Binary output: 64 lines of 8,000 control characters, each a six-byte escape in JSON (3 MB in
  // all), more than the control plane takes in one message if the agent's batches are counted by length.
  ...Array.from({ length: 64 }, () => ({ script: "head -c 8000 /dev/zero | tr '\\000' '\\001'; echo", stream: 'stdout' as const, text: '\u0001'.repeat(8000), truncated: false })),
  { script: "printf 'after the long lines\\n'", stream: 'stdout', text: 'after the long lines', truncated: false },
  { script: "printf 'to \\033[33mstderr\\033[0m\\n' >&2", stream: 'stderr', text: 'to stderr', truncated: false },
];

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
    // httpd without -f goes to the background: the app is healthy while the shell prints.
    case 'counts':
      return ['busybox', 'sh', '-c', `busybox httpd -p ${FIXTURE_APP_PORT} -h /www; i=0; while :; do i=$((i+1)); echo "count $i"; [ $((i % 10)) = 0 ] && echo "count $i on stderr" >&2; busybox usleep 10000; done`];
    case 'prints-hostile-output':
      return ['busybox', 'sh', '-c', [`busybox httpd -p ${FIXTURE_APP_PORT} -h /www`, ...HOSTILE_OUTPUT.map((l) => l.script), 'exec busybox sleep 3600'].join('\n')];
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
