/**
 * The agent's one adapter to git. It keeps a bare mirror of each repository under the work dir
 * (`git clone --mirror` once, then a fetch of only the branch asked for, so a redeploy transfers only
 * what is new) and exports the requested commit, or the branch head, into a fresh directory for the
 * build context (files only, no .git). One lock per repository: concurrent jobs of the same repository
 * take turns on its mirror. argv arrays only, never a shell.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { access, mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';

const CLONE_TIMEOUT_MS = 10 * 60_000;
const FULL_SHA = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/i;

export interface CloneRequest {
  repoUrl: string;
  branch: string;
  /** A commit sha to check out; absent means the head of the branch. */
  commit?: string;
  /** Used in the checkout directory's name, for people reading the work dir. */
  label: string;
}

export interface Checkout {
  dir: string;
  /** Full sha of the checked-out commit. */
  commit: string;
  remove(): Promise<void>;
}

export class GitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GitError';
  }
}

/** The URL without any user:password, fit for logs and reasons. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.username || u.password) {
      u.username = '***';
      u.password = '';
    }
    return u.toString();
  } catch {
    return url.replace(/\/\/[^/@]*@/, '//***@');
  }
}

function lastMeaningfulLine(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  return lines.filter((l) => /^(fatal|error):/i.test(l)).pop() ?? lines.pop() ?? 'no output';
}

export class Git {
  private readonly log: Logger;
  /** Per mirror: the tail of the queue of jobs using it. */
  private readonly locks = new Map<string, Promise<void>>();

  constructor(
    private readonly workDir: string,
    logger: Logger,
  ) {
    this.log = logger.child({ component: 'git' });
  }

  private run(args: string[], cwd: string, env: Record<string, string> = {}): Promise<{ stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      execFile(
        'git',
        ['-c', 'advice.detachedHead=false', ...args],
        { cwd, timeout: CLONE_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: 'true', ...env } },
        (err, stdout, stderr) => {
          if (err) reject(Object.assign(err, { stdout, stderr }));
          else resolve({ stdout, stderr });
        },
      );
    });
  }

  /** Where the mirror of `repoUrl` lives: named by a digest of the URL, so no URL text reaches a path. */
  mirrorDir(repoUrl: string): string {
    return path.join(this.workDir, 'mirrors', `${createHash('sha256').update(repoUrl).digest('hex').slice(0, 24)}.git`);
  }

  /** Runs `work` once every earlier job on the same mirror has finished with it. */
  private async withLock<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const tail = previous.then(() => mine);
    this.locks.set(key, tail);
    await previous;
    try {
      return await work();
    } finally {
      release();
      if (this.locks.get(key) === tail) this.locks.delete(key);
    }
  }

  /**
   * Brings the mirror up to date with the branch (cloning it the first time) and exports the commit
   * into a fresh directory; a failure removes that directory and throws a GitError with git's reason.
   */
  async clone(req: CloneRequest, onLog: (line: string) => void): Promise<Checkout> {
    const url = redactUrl(req.repoUrl);
    if (req.branch.startsWith('-') || /[\s\\]/.test(req.branch) || req.branch.includes('..')) throw new GitError(`invalid branch name "${req.branch}"`);
    if (req.commit !== undefined && !/^[0-9a-f]{4,64}$/i.test(req.commit)) throw new GitError(`invalid commit "${req.commit}"`);
    await mkdir(path.join(this.workDir, 'mirrors'), { recursive: true });
    const mirror = this.mirrorDir(req.repoUrl);
    const dir = await mkdtemp(path.join(this.workDir, `build-${req.label.replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 40)}-`));
    const remove = () => rm(dir, { recursive: true, force: true });
    const step = async (what: string, args: string[], cwd = mirror, env: Record<string, string> = {}) => {
      try {
        const out = await this.run(args, cwd, env);
        for (const line of out.stderr.split('\n')) if (line.trim()) onLog(line.trimEnd().split(req.repoUrl).join(url));
        return out.stdout.trim();
      } catch (err) {
        const e = err as { stderr?: string; killed?: boolean; message: string };
        const why = e.killed ? `timed out after ${CLONE_TIMEOUT_MS / 1000}s` : lastMeaningfulLine(e.stderr || e.message);
        throw new GitError(`${what} failed: ${why.split(req.repoUrl).join(url)}`);
      }
    };
    const has = (rev: string) => this.run(['cat-file', '-e', rev], mirror).then(() => true, () => false);
    try {
      const commit = await this.withLock(mirror, async () => {
        const exists = await access(mirror).then(() => true, () => false);
        if (!exists) {
          onLog(`cloning ${url} (branch ${req.branch}${req.commit ? `, commit ${req.commit}` : ''})`);
          // Into a temporary name first: a mirror directory exists only once it is whole.
          const partial = `${mirror}.partial`;
          await rm(partial, { recursive: true, force: true });
          try {
            await step(`git clone of ${url} (branch ${req.branch})`, ['clone', '--mirror', '--quiet', '--', req.repoUrl, partial], this.workDir);
            await rename(partial, mirror);
          } finally {
            await rm(partial, { recursive: true, force: true });
          }
        } else if (req.commit && (await has(`${req.commit}^{commit}`))) {
          onLog(`commit ${req.commit} is already in the mirror of ${url}`);
        } else {
          onLog(`fetching ${url} (branch ${req.branch}${req.commit ? `, commit ${req.commit}` : ''}) into its mirror`);
          await step(`git fetch of ${url} (branch ${req.branch})`, ['fetch', '--quiet', '--prune', 'origin', `+refs/heads/${req.branch}:refs/heads/${req.branch}`]).catch((err: Error) => {
            if (!/couldn't find remote ref/i.test(err.message)) throw err;
            throw new GitError(`git fetch of ${url} (branch ${req.branch}) failed: Remote branch ${req.branch} not found in upstream origin`);
          });
        }
        if (!exists && !(await has(`refs/heads/${req.branch}`))) {
          throw new GitError(`git clone of ${url} (branch ${req.branch}) failed: Remote branch ${req.branch} not found in upstream origin`);
        }
        // The commit's files into the build directory through an index of its own: the mirror is only read.
        const index = { GIT_INDEX_FILE: `${dir}.index` };
        const checkout = (sha: string) => step(`git checkout of commit ${sha}`, ['--work-tree', dir, 'checkout', '--force', `${sha}^{commit}`, '--', '.'], mirror, index);
        const fetchCommit = (sha: string) => step(`git fetch of commit ${sha} from ${url}`, ['fetch', '--quiet', 'origin', sha]);
        let sha: string;
        try {
          if (req.commit && FULL_SHA.test(req.commit)) {
            // A full sha (a push event's) needs no rev-parse; a commit that is not on the branch is asked for by name.
            sha = req.commit.toLowerCase();
            await checkout(sha).catch(async () => {
              await fetchCommit(sha);
              await checkout(sha);
            });
          } else {
            const target = `${req.commit ?? `refs/heads/${req.branch}`}^{commit}`;
            const revParse = () => step(`git rev-parse of ${req.commit ?? req.branch}`, ['rev-parse', '--verify', '--quiet', '--end-of-options', target]);
            let found = await revParse().catch(() => undefined);
            if (found === undefined && req.commit) {
              await fetchCommit(req.commit);
              found = await revParse();
            }
            if (found === undefined) throw new GitError(`git rev-parse of ${req.branch} failed: no such branch in the mirror of ${url}`);
            sha = found;
            await checkout(sha);
          }
        } finally {
          await rm(`${dir}.index`, { force: true });
        }
        return sha;
      });
      onLog(`checked out ${commit}`);
      this.log.info({ repo: url, branch: req.branch, commit }, 'checked out');
      return { dir, commit, remove };
    } catch (err) {
      await remove();
      throw err;
    }
  }
}
