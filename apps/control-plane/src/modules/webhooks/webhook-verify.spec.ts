import fc from 'fast-check';
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { WEBHOOK_PROVIDERS, type WebhookProvider } from '@berth/contracts';
import { referencePayload, signatureVectors } from '../../../../../test/support/webhook-fixtures';
import { signatureHeaders, verifySignature, type RawHeaders } from './webhook-verify';

const vectors = signatureVectors();
const SECRET = vectors.secret;
const hmacHex = (secret: string, body: Buffer) => createHmac('sha256', secret).update(body).digest('hex');

/** Every real payload, with the header each provider family signs it with in signature-vectors.json. */
const SIGNED: { file: string; provider: WebhookProvider; header: string }[] = [
  { file: 'github-push.json', provider: 'github', header: 'X-Hub-Signature-256' },
  { file: 'github-push-new-branch.json', provider: 'github', header: 'X-Hub-Signature-256' },
  { file: 'github-push-tag-delete.json', provider: 'github', header: 'X-Hub-Signature-256' },
  { file: 'github-ping.json', provider: 'github', header: 'X-Hub-Signature-256' },
  { file: 'gitea-push.json', provider: 'gitea', header: 'X-Gitea-Signature' },
  { file: 'gitea-push.json', provider: 'codeberg', header: 'X-Forgejo-Signature' },
  { file: 'gitea-push.json', provider: 'codeberg', header: 'X-Gitea-Signature' },
  { file: 'gitea-push.json', provider: 'forgejo', header: 'X-Forgejo-Signature' },
  { file: 'gitea-push.json', provider: 'forgejo', header: 'X-Gitea-Signature' },
  { file: 'gogs-push.json', provider: 'gitea', header: 'X-Gitea-Signature' },
  { file: 'gitlab-push.json', provider: 'gitlab', header: 'X-Gitlab-Token' },
  { file: 'gitlab-push-2.json', provider: 'gitlab', header: 'X-Gitlab-Token' },
  { file: 'bitbucket-cloud-push.json', provider: 'bitbucket', header: 'X-Hub-Signature' },
  { file: 'bitbucket-server-push.json', provider: 'bitbucket', header: 'X-Hub-Signature' },
  { file: 'bitbucket-server-push-branch-delete.json', provider: 'bitbucket', header: 'X-Hub-Signature' },
];

const vectorOf = (file: string, header: string) => (vectors[file] as Record<string, string>)[header];

describe('verifySignature', () => {
  it('accepts GitHub’s documented test vector', () => {
    const v = vectors.github_docs_vector;
    expect(verifySignature('github', { 'x-hub-signature-256': v['X-Hub-Signature-256'] }, Buffer.from(v.payload), SECRET)).toEqual({ ok: true });
  });

  describe.each(SIGNED)('$provider: $file signed in $header', ({ file, provider, header }) => {
    const body = referencePayload(file);
    const sent = vectorOf(file, header);
    const headers = { [header.toLowerCase()]: sent };

    it('the vector is the HMAC of the file’s exact bytes, and verifies', () => {
      if (header !== 'X-Gitlab-Token') expect(sent.replace(/^sha256=/, '')).toBe(hmacHex(SECRET, body));
      expect(verifySignature(provider, headers, body, SECRET)).toEqual({ ok: true });
    });

    it('refuses the body with one byte changed (HMAC providers)', () => {
      const altered = Buffer.from(body);
      altered[Math.floor(altered.length / 2)] ^= 0x01;
      const verdict = verifySignature(provider, headers, altered, SECRET);
      expect(verdict.ok).toBe(provider === 'gitlab'); // GitLab sends a shared token, not a signature of the body
    });

    it('refuses a signature made with another secret, and a missing header', () => {
      expect(verifySignature(provider, signatureHeaders(provider, 'another secret', body), body, SECRET)).toEqual({ ok: false, reason: 'bad_signature' });
      expect(verifySignature(provider, {}, body, SECRET)).toEqual({ ok: false, reason: 'missing_signature' });
    });

    it('refuses every other provider’s header carrying a valid signature', () => {
      for (const other of WEBHOOK_PROVIDERS) {
        const theirs = signatureHeaders(other, SECRET, body);
        const name = Object.keys(theirs)[0];
        if (name === Object.keys(signatureHeaders(provider, SECRET, body))[0]) continue; // the same header (gitea family)
        if ((provider === 'codeberg' || provider === 'forgejo') && name === 'x-gitea-signature') continue; // Forgejo sends both
        expect(verifySignature(provider, theirs, body, SECRET).ok, `${other}'s ${name} on the ${provider} route`).toBe(false);
      }
    });
  });

  it('refuses a GitHub-signed body sent to the Gitea route, and a Gitea signature with GitHub’s prefix', () => {
    const body = referencePayload('github-push.json');
    expect(verifySignature('gitea', signatureHeaders('github', SECRET, body), body, SECRET)).toEqual({ ok: false, reason: 'missing_signature' });
    expect(verifySignature('gitea', { 'x-gitea-signature': `sha256=${hmacHex(SECRET, body)}` }, body, SECRET)).toEqual({ ok: false, reason: 'malformed_signature' });
    expect(verifySignature('github', { 'x-hub-signature-256': hmacHex(SECRET, body) }, body, SECRET)).toEqual({ ok: false, reason: 'malformed_signature' });
  });

  it('refuses sha1, truncated, doubled and empty signatures, and an empty secret', () => {
    const body = referencePayload('github-push.json');
    const good = `sha256=${hmacHex(SECRET, body)}`;
    for (const value of ['sha1=efaf4070e3173a5abf94e33cded687a40c956658', good.slice(0, -2), `${good}00`, 'sha256=', '']) {
      expect(verifySignature('github', { 'x-hub-signature-256': value }, body, SECRET).ok, value).toBe(false);
    }
    expect(verifySignature('github', { 'x-hub-signature-256': [good, good] }, body, SECRET)).toEqual({ ok: false, reason: 'malformed_signature' });
    expect(verifySignature('github', { 'x-hub-signature-256': `sha256=${hmacHex('', body)}` }, body, '')).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verifySignature('github', { 'x-hub-signature-256': good.toUpperCase().replace('SHA256=', 'sha256=') }, body, SECRET)).toEqual({ ok: true });
  });
});

describe('verifySignature properties (fast-check)', () => {
  const provider = fc.constantFrom<WebhookProvider>(...WEBHOOK_PROVIDERS);
  const bytes = fc.uint8Array({ maxLength: 512 }).map((a) => Buffer.from(a));
  const secret = fc.string({ minLength: 1, maxLength: 64 });
  const headerValue = fc.oneof(fc.string(), fc.hexaString({ minLength: 64, maxLength: 64 }).map((h) => `sha256=${h}`), fc.array(fc.string(), { maxLength: 3 }));
  const headers: fc.Arbitrary<RawHeaders> = fc.dictionary(
    fc.constantFrom('x-hub-signature-256', 'x-hub-signature', 'x-gitea-signature', 'x-forgejo-signature', 'x-gitlab-token', 'content-type'),
    headerValue,
  );

  it('never throws, whatever the headers, body and secret', () => {
    fc.assert(
      fc.property(provider, headers, bytes, fc.string(), (p, h, b, s) => {
        const verdict = verifySignature(p, h, b, s);
        expect(typeof verdict.ok).toBe('boolean');
      }),
      { numRuns: 2000 },
    );
  });

  it('accepts its own signature, and never one made with another secret or over other bytes', () => {
    fc.assert(
      fc.property(provider, bytes, bytes, secret, secret, (p, body, otherBody, s, otherSecret) => {
        expect(verifySignature(p, signatureHeaders(p, s, body), body, s)).toEqual({ ok: true });
        if (otherSecret !== s) expect(verifySignature(p, signatureHeaders(p, otherSecret, body), body, s).ok).toBe(false);
        if (p !== 'gitlab' && !otherBody.equals(body)) expect(verifySignature(p, signatureHeaders(p, s, otherBody), body, s).ok).toBe(false);
      }),
      { numRuns: 1000 },
    );
  });

  it('never accepts an arbitrary header value that is not the HMAC of exactly these bytes', () => {
    fc.assert(
      fc.property(provider, headers, bytes, secret, (p, h, body, s) => {
        const expected = signatureHeaders(p, s, body);
        const [name, value] = Object.entries(expected)[0];
        const sent = Object.entries(h).filter(([n]) => n === name || (name === 'x-forgejo-signature' && n === 'x-gitea-signature'));
        const carriesTheRealOne = sent.some(([, v]) => typeof v === 'string' && v.toLowerCase() === value.toLowerCase());
        if (!carriesTheRealOne) expect(verifySignature(p, h, body, s).ok).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });
});
