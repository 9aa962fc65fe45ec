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
    await checkout.remove();
    expect(await readdir(work.dir)).toEqual([]);
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
    expect(await readdir(work.dir)).toEqual([]);
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
