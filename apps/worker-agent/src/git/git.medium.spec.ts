import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../../../test/support/docker';
import { createAppRepo, pushCommit } from '../../../../test/support/git-fixture';
import type { AppRepo } from '../../../../test/support/git-fixture';
import { Git, GitError, redactUrl } from './git';

describe('Git (real git, file:// repositories)', () => {
  let repo: AppRepo;
  let work: { dir: string; remove: () => Promise<void> };
  let git: Git;
  let first: string;

  beforeAll(async () => {
    repo = await createAppRepo({ message: 'first version' });
    first = repo.head;
    await pushCommit(repo, 'second version');
    work = await tempDir('berth-git-');
    git = new Git(work.dir, pino({ level: 'silent' }));
  });
  afterAll(async () => {
    await repo.remove();
    await work.remove();
  });

  it('clones the head of the branch into a fresh directory and names the commit', async () => {
    const lines: string[] = [];
    const checkout = await git.clone({ repoUrl: repo.url, branch: 'main', label: 'job-1' }, (l) => lines.push(l));
    expect(checkout.commit).toBe(repo.head);
    expect(checkout.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(path.dirname(checkout.dir)).toBe(work.dir);
    expect(await readFile(path.join(checkout.dir, 'index.html'), 'utf8')).toBe('second version\n');
    expect(lines[0]).toBe(`cloning ${repo.url} (branch main)`);
    expect(await readdir(checkout.dir)).not.toContain('.git'); // the build context is the files only
    await checkout.remove();
    expect(await readdir(work.dir)).toEqual(['mirrors']); // the mirror stays for the next deploy
  });

  it('checks out a requested commit, full or abbreviated', async () => {
    const checkout = await git.clone({ repoUrl: repo.url, branch: 'main', commit: first.slice(0, 12), label: 'job-2' }, () => undefined);
    expect(checkout.commit).toBe(first);
    expect(await readFile(path.join(checkout.dir, 'index.html'), 'utf8')).toBe('first version\n');
    await checkout.remove();
  });

  it('fails with git’s own reason and leaves nothing behind', async () => {
    const badRepo = git.clone({ repoUrl: `${repo.url}-missing`, branch: 'main', label: 'job-3' }, () => undefined);
    await expect(badRepo).rejects.toThrow(/^git clone of file:\/\/.*-missing \(branch main\) failed: fatal: .*/);
    const badBranch = git.clone({ repoUrl: repo.url, branch: 'nope', label: 'job-4' }, () => undefined);
    await expect(badBranch).rejects.toThrow(/failed: .*Remote branch nope not found/);
    const badCommit = git.clone({ repoUrl: repo.url, branch: 'main', commit: 'deadbeef', label: 'job-5' }, () => undefined);
    await expect(badCommit).rejects.toBeInstanceOf(GitError);
    await expect(git.clone({ repoUrl: repo.url, branch: '--upload-pack=touch /tmp/x', label: 'job-6' }, () => undefined)).rejects.toThrow('invalid branch name');
    expect(await readdir(work.dir)).toEqual(['mirrors']);
    expect(await readdir(path.join(work.dir, 'mirrors'))).toEqual([path.basename(git.mirrorDir(repo.url))]);
  });

  it('keeps one mirror per repository and fetches only the branch’s new commits into it', async () => {
    const own = await createAppRepo({ message: 'v1' });
    try {
      const lines: string[] = [];
      const a = await git.clone({ repoUrl: own.url, branch: 'main', label: 'm-1' }, (l) => lines.push(l));
      expect(lines[0]).toBe(`cloning ${own.url} (branch main)`);
      await a.remove();
      const v2 = await pushCommit(own, 'v2');
      lines.length = 0;
      const b = await git.clone({ repoUrl: own.url, branch: 'main', commit: v2, label: 'm-2' }, (l) => lines.push(l));
      expect(lines[0]).toBe(`fetching ${own.url} (branch main, commit ${v2}) into its mirror`);
      expect(b.commit).toBe(v2);
      expect(await readFile(path.join(b.dir, 'index.html'), 'utf8')).toBe('v2\n');
      await b.remove();
      // A commit the mirror already has is checked out without asking the remote.
      lines.length = 0;
      const c = await git.clone({ repoUrl: own.url, branch: 'main', commit: v2, label: 'm-3' }, (l) => lines.push(l));
      expect(lines[0]).toBe(`commit ${v2} is already in the mirror of ${own.url}`);
      await c.remove();
    } finally {
      await own.remove();
    }
  });

  it('fetches a named commit that is not on the branch by its sha', async () => {
    const own = await createAppRepo({ message: 'main one' });
    try {
      await (await git.clone({ repoUrl: own.url, branch: 'main', label: 's-1' }, () => undefined)).remove();
      own.branch = 'side';
      const side = await pushCommit(own, 'side one');
      own.branch = 'main';
      const checkout = await git.clone({ repoUrl: own.url, branch: 'main', commit: side, label: 's-2' }, () => undefined);
      expect(checkout.commit).toBe(side);
      expect(await readFile(path.join(checkout.dir, 'index.html'), 'utf8')).toBe('side one\n');
      await checkout.remove();
      await expect(git.clone({ repoUrl: own.url, branch: 'main', commit: 'f'.repeat(40), label: 's-3' }, () => undefined)).rejects.toBeInstanceOf(GitError);
    } finally {
      await own.remove();
    }
  });

  it('lets concurrent jobs of one repository share its mirror without corrupting it', async () => {
    const own = await createAppRepo({ message: 'c1' });
    try {
      const commits = [own.head];
      for (let i = 2; i <= 4; i++) commits.push(await pushCommit(own, `c${i}`));
      const checkouts = await Promise.all(
        commits.flatMap((commit, i) => [0, 1].map((k) => git.clone({ repoUrl: own.url, branch: 'main', commit, label: `c-${i}-${k}` }, () => undefined))),
      );
      for (const [n, checkout] of checkouts.entries()) {
        const i = Math.floor(n / 2);
        expect(checkout.commit).toBe(commits[i]);
        expect(await readFile(path.join(checkout.dir, 'index.html'), 'utf8')).toBe(`c${i + 1}\n`);
        await checkout.remove();
      }
      const fsck = await new Promise<number>((resolve) => execFile('git', ['fsck', '--no-progress'], { cwd: git.mirrorDir(own.url) }, (err) => resolve(err ? 1 : 0)));
      expect(fsck).toBe(0);
    } finally {
      await own.remove();
    }
  });

  it('never shows credentials from the URL', async () => {
    const clone = git.clone({ repoUrl: 'http://deploy:s3cret@127.0.0.1:1/app.git', branch: 'main', label: 'job-7' }, () => undefined);
    const err = await clone.catch((e: Error) => e);
    expect(err).toBeInstanceOf(GitError);
    expect((err as Error).message).not.toContain('s3cret');
    expect((err as Error).message).toContain('http://***@127.0.0.1:1/app.git');
    expect(redactUrl('https://token@example.com/x.git')).toBe('https://***@example.com/x.git');
  });
});
