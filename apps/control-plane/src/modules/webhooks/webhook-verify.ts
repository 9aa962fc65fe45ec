/**
 * Verifies a push event the way its git host signs it, over the raw request bytes (never re-serialised
 * JSON), with a constant-time comparison. Pure: no framework, never throws.
 *
 * | provider                  | header                                        | value                         |
 * |---------------------------|-----------------------------------------------|-------------------------------|
 * | github                    | X-Hub-Signature-256                           | sha256=<hex HMAC-SHA256(body)> |
 * | gitea                     | X-Gitea-Signature                             | <hex HMAC-SHA256(body)>        |
 * | codeberg, forgejo         | X-Forgejo-Signature, else X-Gitea-Signature   | <hex HMAC-SHA256(body)>        |
 * | gitlab                    | X-Gitlab-Token                                | the secret itself              |
 * | bitbucket (Cloud and DC)  | X-Hub-Signature                               | sha256=<hex HMAC-SHA256(body)> |
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { WebhookProvider } from '@berth/contracts';

/** Request headers as Node gives them: lower-case names. */
export type RawHeaders = Record<string, string | string[] | undefined>;

export type RejectReason = 'missing_signature' | 'malformed_signature' | 'bad_signature';
export type Verdict = { ok: true } | { ok: false; reason: RejectReason };

interface Scheme {
  /** Headers that may carry the signature, first present wins. */
  headers: readonly string[];
  /** 'hmac': hex HMAC-SHA256 of the body, after `prefix`; 'token': the secret itself. */
  kind: 'hmac' | 'token';
  prefix: string;
}

const SCHEMES: Record<WebhookProvider, Scheme> = {
  github: { headers: ['x-hub-signature-256'], kind: 'hmac', prefix: 'sha256=' },
  gitea: { headers: ['x-gitea-signature'], kind: 'hmac', prefix: '' },
  codeberg: { headers: ['x-forgejo-signature', 'x-gitea-signature'], kind: 'hmac', prefix: '' },
  forgejo: { headers: ['x-forgejo-signature', 'x-gitea-signature'], kind: 'hmac', prefix: '' },
  gitlab: { headers: ['x-gitlab-token'], kind: 'token', prefix: '' },
  bitbucket: { headers: ['x-hub-signature'], kind: 'hmac', prefix: 'sha256=' },
};

const HEX_SHA256 = /^[0-9a-fA-F]{64}$/;

/** The one header value, or undefined when absent; a header sent twice is not a signature. */
function single(headers: RawHeaders, name: string): string | undefined | null {
  const v = headers[name];
  if (v === undefined) return undefined;
  return typeof v === 'string' ? v : null;
}

/** Equal-length buffers compared in constant time; different lengths are simply unequal. */
function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

export function hmacSha256(secret: string, body: Buffer): Buffer {
  return createHmac('sha256', secret).update(body).digest();
}

/** The signature header value a provider would send for `body` (tests, benches, the README's examples). */
export function signatureHeaders(provider: WebhookProvider, secret: string, body: Buffer): Record<string, string> {
  const scheme = SCHEMES[provider];
  const value = scheme.kind === 'token' ? secret : `${scheme.prefix}${hmacSha256(secret, body).toString('hex')}`;
  return { [scheme.headers[0]]: value };
}

export function verifySignature(provider: WebhookProvider, headers: RawHeaders, body: Buffer, secret: string): Verdict {
  try {
    const scheme = SCHEMES[provider];
    if (!scheme || secret.length === 0) return { ok: false, reason: 'bad_signature' };
    let value: string | undefined | null;
    for (const name of scheme.headers) {
      value = single(headers, name);
      if (value !== undefined) break;
    }
    if (value === undefined || value === '') return { ok: false, reason: 'missing_signature' };
    if (value === null) return { ok: false, reason: 'malformed_signature' };
    if (scheme.kind === 'token') {
      // Digests of both sides: equal length whatever was sent, so the comparison says nothing about the secret's length.
      const sent = createHash('sha256').update(value, 'utf8').digest();
      const want = createHash('sha256').update(secret, 'utf8').digest();
      return sameBytes(sent, want) ? { ok: true } : { ok: false, reason: 'bad_signature' };
    }
    if (!value.startsWith(scheme.prefix)) return { ok: false, reason: 'malformed_signature' };
    const hex = value.slice(scheme.prefix.length);
    if (!HEX_SHA256.test(hex)) return { ok: false, reason: 'malformed_signature' };
    return sameBytes(Buffer.from(hex, 'hex'), hmacSha256(secret, body)) ? { ok: true } : { ok: false, reason: 'bad_signature' };
  } catch {
    return { ok: false, reason: 'bad_signature' };
  }
}
