import { createHash, randomBytes } from 'node:crypto';

/** Tokens are stored only as SHA-256 hashes; the plain token is shown once, at creation. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function newToken(prefix: 'bat' | 'bwt'): string {
  return `${prefix}_${randomBytes(24).toString('base64url')}`;
}
