/**
 * The agent's one adapter to git: clone a branch (or one commit of it) into a fresh directory under
 * the work dir and say which commit was checked out. argv arrays only, never a shell.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';

const CLONE_TIMEOUT_MS = 10 * 60_000;

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

  constructor(
    private readonly workDir: string,
    logger: Logger,
  ) {
    this.log = logger.child({ component: 'git' });
  }

  private run(args: string[], cwd: string): Promise<{ stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      execFile(
        'git',
        ['-c', 'advice.detachedHead=false', ...args],
        { cwd, timeout: CLONE_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: 'true' } },
        (err, stdout, stderr) => {
          if (err) reject(Object.assign(err, { stdout, stderr }));
          else resolve({ stdout, stderr });
        },
      );
    });
  }

  /** Clones into a fresh directory; a failure removes it and throws a GitError with git's own reason. */
  async clone(req: CloneRequest, onLog: (line: string) => void): Promise<Checkout> {
    const url = redactUrl(req.repoUrl);
    if (req.branch.startsWith('-') || /[\s\\]/.test(req.branch)) throw new GitError(`invalid branch name "${req.branch}"`);
    if (req.commit !== undefined && !/^[0-9a-f]{4,64}$/i.test(req.commit)) throw new GitError(`invalid commit "${req.commit}"`);
    await mkdir(this.workDir, { recursive: true });
    const dir = await mkdtemp(path.join(this.workDir, `build-${req.label.replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 40)}-`));
    const remove = () => rm(dir, { recursive: true, force: true });
    const step = async (what: string, args: string[], cwd = dir) => {
      try {
        const out = await this.run(args, cwd);
        for (const line of out.stderr.split('\n')) if (line.trim()) onLog(line.trimEnd().split(req.repoUrl).join(url));
        return out.stdout.trim();
      } catch (err) {
        const e = err as { stderr?: string; killed?: boolean; message: string };
        const why = e.killed ? `timed out after ${CLONE_TIMEOUT_MS / 1000}s` : lastMeaningfulLine(e.stderr || e.message);
        throw new GitError(`${what} failed: ${why.split(req.repoUrl).join(url)}`);
      }
    };
    try {
      onLog(`cloning ${url} (branch ${req.branch}${req.commit ? `, commit ${req.commit}` : ''})`);
      // The head of a branch needs one commit of history; a named commit needs the branch's history.
      const depth = req.commit ? [] : ['--depth', '1'];
      await step(`git clone of ${url} (branch ${req.branch})`, ['clone', '--quiet', '--single-branch', '--branch', req.branch, ...depth, '--', req.repoUrl, dir], this.workDir);
      if (req.commit) {
        const inBranch = await this.run(['cat-file', '-e', `${req.commit}^{commit}`], dir).then(
          () => true,
          () => false,
        );
        if (!inBranch) await step(`git fetch of commit ${req.commit} from ${url}`, ['fetch', '--quiet', 'origin', req.commit]);
        await step(`git checkout of commit ${req.commit}`, ['checkout', '--quiet', '--detach', req.commit]);
      }
      const commit = await step('git rev-parse', ['rev-parse', 'HEAD']);
      onLog(`checked out ${commit}`);
      this.log.info({ repo: url, branch: req.branch, commit }, 'cloned');
      return { dir, commit, remove };
    } catch (err) {
      await remove();
      throw err;
    }
  }
}
