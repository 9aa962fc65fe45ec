import { describe, expect, it } from 'vitest';
import { envProblem, isDnsLabel, isDockerReference, isGitBranchName, isGitUrl, isHealthCheckPath, isSafeRelativePath } from './app-spec.rules';

describe('app spec rules', () => {
  it('names are DNS labels', () => {
    for (const ok of ['a', 'web', 'my-api-2', '0', 'a'.repeat(63)]) expect(isDnsLabel(ok), ok).toBe(true);
    for (const bad of ['', 'Web', '-web', 'web-', 'my_api', 'a.b', 'a'.repeat(64), 'wéb', ' web']) expect(isDnsLabel(bad), bad).toBe(false);
  });

  it('git URLs: https/http/ssh/git/file or scp-like', () => {
    const ok = [
      'https://codeberg.org/acme/api.git',
      'http://git.local:3000/acme/api',
      'ssh://git@github.com:22/acme/api.git',
      'git://example.org/repo.git',
      'file:///srv/git/api.git',
      'git@github.com:acme/api.git',
      'deploy@10.0.0.1:/srv/repo',
    ];
    for (const u of ok) expect(isGitUrl(u), u).toBe(true);
    const bad = [
      '',
      'not a url',
      'ftp://example.org/repo.git',
      'javascript:alert(1)',
      'https://',
      'https://example.org',
      '-oProxyCommand=x@host:path',
      'git@host:',
      'host:path',
      'https://example.org/a b',
      'ext::sh -c touch /tmp/x',
    ];
    for (const u of bad) expect(isGitUrl(u), u).toBe(false);
  });

  it('branches follow git check-ref-format', () => {
    for (const ok of ['main', 'feature/login', 'release-1.2', 'v1.0.x']) expect(isGitBranchName(ok), ok).toBe(true);
    for (const bad of ['', '-main', 'a..b', 'a b', 'a:b', 'a~1', 'a^', 'x.lock', '.hidden', 'a/.b', 'a/', '/a', 'a//b', 'a@{1}', '@', 'end.', 'a*']) {
      expect(isGitBranchName(bad), bad).toBe(false);
    }
  });

  it('dockerfile paths stay inside the repository', () => {
    for (const ok of ['Dockerfile', 'docker/Dockerfile.prod', './Dockerfile']) expect(isSafeRelativePath(ok), ok).toBe(true);
    for (const bad of ['', '/etc/passwd', '../Dockerfile', 'a/../../b', 'a\\b', 'dir/']) expect(isSafeRelativePath(bad), bad).toBe(false);
  });

  it('images are docker references', () => {
    const ok = ['nginx', 'nginx:1.27', 'library/nginx:latest', 'ghcr.io/acme/api:v2', 'localhost:5000/app', `repo@sha256:${'a'.repeat(64)}`];
    for (const i of ok) expect(isDockerReference(i), i).toBe(true);
    for (const bad of ['', 'Nginx', 'nginx:', ':tag', 'a b', 'nginx:-bad', 'repo@sha256:short', 'acme/Upper']) expect(isDockerReference(bad), bad).toBe(false);
  });

  it('health check paths start with /', () => {
    expect(isHealthCheckPath('/healthz?full=1')).toBe(true);
    expect(isHealthCheckPath('healthz')).toBe(false);
    expect(isHealthCheckPath('/a b')).toBe(false);
  });

  it('env: string values under identifier keys, bounded', () => {
    expect(envProblem({ A: '1', _b2: '' })).toBeNull();
    expect(envProblem({ '1A': 'x' })).toMatch(/key "1A"/);
    expect(envProblem({ A: 1 })).toMatch(/must be a string/);
    expect(envProblem(['A'])).toMatch(/object/);
    expect(envProblem(Object.fromEntries(Array.from({ length: 201 }, (_, i) => [`K${i}`, 'v'])))).toMatch(/at most 200/);
    expect(envProblem({ A: 'x'.repeat(40_000) })).toMatch(/bytes/);
  });
});
