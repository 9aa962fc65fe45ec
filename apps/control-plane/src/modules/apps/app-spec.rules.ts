/**
 * What makes an app spec valid, as pure functions (the DTOs wrap them in class-validator decorators,
 * and the decider spec uses them without NestJS).
 */

import { DNS_LABEL_PATTERN } from '@berth/core';

/**
 * An app name or zone is a DNS label, so it can be a hostname part (`<name>.<zone>.example.com`); ids
 * are uuids. One copy of each rule, in @berth/core.
 */
export { isDnsLabel, isUuid } from '@berth/core';
export const DNS_LABEL = DNS_LABEL_PATTERN;

const CONTROL_OR_SPACE = /[\s\x00-\x1f\x7f]/;
const GIT_URL_SCHEMES = new Set(['https:', 'http:', 'ssh:', 'git:', 'file:']);
const SCP_LIKE = /^[A-Za-z0-9._~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?:(?!\/\/)\S+$/;
export const GIT_URL_MAX = 2048;

/** A URL git can clone: https/http/ssh/git/file scheme, or scp-like `user@host:path`. */
export function isGitUrl(value: unknown): value is string {
  if (typeof value !== 'string' || value.length === 0 || value.length > GIT_URL_MAX) return false;
  // A leading dash would reach git (and ssh) as an option.
  if (CONTROL_OR_SPACE.test(value) || value.startsWith('-')) return false;
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(value)) {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      return false;
    }
    if (!GIT_URL_SCHEMES.has(url.protocol)) return false;
    if (url.protocol === 'file:') return url.pathname.length > 1;
    return url.hostname.length > 0 && !url.hostname.startsWith('-') && url.pathname.length > 1;
  }
  return SCP_LIKE.test(value);
}

/** A branch name git accepts (the rules of `git check-ref-format --branch`). */
export function isGitBranchName(value: unknown): value is string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 255) return false;
  if (value === '@' || value.startsWith('-') || value.startsWith('/') || value.endsWith('/') || value.endsWith('.')) return false;
  if (/[\x00-\x20\x7f~^:?*[\\]/.test(value) || value.includes('..') || value.includes('@{') || value.includes('//')) return false;
  return value.split('/').every((part) => !part.startsWith('.') && !part.endsWith('.lock'));
}

/** A path inside the repository: relative, no `..` segment, no backslashes or control characters. */
export function isSafeRelativePath(value: unknown): value is string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 1024) return false;
  if (value.startsWith('/') || value.endsWith('/') || value.includes('\\') || /[\x00-\x1f\x7f]/.test(value)) return false;
  return value.split('/').every((segment) => segment !== '..');
}

// The grammar of github.com/distribution/reference: [domain/]path[:tag][@digest].
const ALNUM = '[a-z0-9]+';
const PATH_COMPONENT = `${ALNUM}(?:(?:[._]|__|-+)${ALNUM})*`;
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = `${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*(?::[0-9]+)?`;
const NAME = `(?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*`;
const TAG = '[\\w][\\w.-]{0,127}';
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';
const DOCKER_REFERENCE = new RegExp(`^(${NAME})(?::${TAG})?(?:@${DIGEST})?$`);

/** A docker image reference such as `nginx`, `nginx:1.27`, `ghcr.io/acme/api:v2` or `repo@sha256:…`. */
export function isDockerReference(value: unknown): value is string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 512) return false;
  const m = DOCKER_REFERENCE.exec(value);
  return m !== null && m[1].length <= 255;
}

/** An HTTP path the health check GETs: starts with `/`, no spaces or control characters. */
export function isHealthCheckPath(value: unknown): value is string {
  return typeof value === 'string' && value.length <= 1024 && value.startsWith('/') && !CONTROL_OR_SPACE.test(value);
}

export const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const ENV_LIMITS = { maxKeys: 200, maxKeyLength: 256, maxValueBytes: 32 * 1024, maxTotalBytes: 64 * 1024 } as const;

/** Why an env map is not acceptable, or null when it is. */
export function envProblem(value: unknown): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'must be an object of string values';
  const entries = Object.entries(value);
  if (entries.length > ENV_LIMITS.maxKeys) return `must have at most ${ENV_LIMITS.maxKeys} variables`;
  let total = 0;
  for (const [key, v] of entries) {
    if (key.length > ENV_LIMITS.maxKeyLength || !ENV_KEY.test(key)) return `key "${key.slice(0, 64)}" must match ${ENV_KEY.source} (at most ${ENV_LIMITS.maxKeyLength} characters)`;
    if (typeof v !== 'string') return `value of ${key} must be a string`;
    if (v.includes('\0')) return `value of ${key} must not contain a NUL character`;
    const bytes = Buffer.byteLength(v, 'utf8');
    if (bytes > ENV_LIMITS.maxValueBytes) return `value of ${key} must be at most ${ENV_LIMITS.maxValueBytes} bytes`;
    total += bytes + key.length;
  }
  if (total > ENV_LIMITS.maxTotalBytes) return `must be at most ${ENV_LIMITS.maxTotalBytes} bytes in total`;
  return null;
}

export const PORT_RANGE = { min: 1, max: 65535 } as const;
export const MEMORY_MB_RANGE = { min: 16, max: 65536 } as const;
export const CPUS_RANGE = { min: 0.01, max: 64 } as const;
