import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseSecretKey } from '@berth/config';
import { newWebhookSecret, SecretBox } from './secret-box';

describe('SecretBox (AES-256-GCM)', () => {
  const box = new SecretBox(randomBytes(32));

  it('opens what it sealed, and never shows the plaintext in the sealed form', () => {
    const secret = newWebhookSecret();
    const sealed = box.seal(secret);
    expect(sealed).toMatch(/^v1\.[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(sealed).not.toContain(secret);
    expect(box.open(sealed)).toBe(secret);
    expect(box.seal(secret)).not.toBe(sealed); // a fresh IV each time
  });

  it('refuses a value sealed under another key, or altered', () => {
    const sealed = box.seal('It’s a Secret to Everybody');
    expect(() => new SecretBox(randomBytes(32)).open(sealed)).toThrow();
    const [v, iv, body, tag] = sealed.split('.');
    const flipped = Buffer.from(body, 'base64url');
    flipped[0] ^= 1;
    expect(() => box.open([v, iv, flipped.toString('base64url'), tag].join('.'))).toThrow();
    expect(() => box.open('plaintext')).toThrow('not a sealed secret');
  });

  it('takes BERTH_SECRET_KEY as 64 hex characters or base64 of 32 bytes', () => {
    const key = randomBytes(32);
    expect(parseSecretKey(key.toString('hex')).equals(key)).toBe(true);
    expect(parseSecretKey(key.toString('base64')).equals(key)).toBe(true);
    expect(() => parseSecretKey('short')).toThrow(/32-byte key/);
    expect(() => parseSecretKey(randomBytes(16).toString('hex'))).toThrow(/32-byte key/);
  });

  it('without a key, makes one for this process and says so', () => {
    const own = SecretBox.fromKey(undefined);
    expect(own.ephemeral).toBe(true);
    expect(own.open(own.seal('x'))).toBe('x');
    expect(SecretBox.fromKey(randomBytes(32)).ephemeral).toBe(false);
  });
});
