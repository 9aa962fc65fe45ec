/**
 * Secrets Berth must keep readable (HMAC needs the webhook secret itself, so it cannot be hashed):
 * sealed at rest with AES-256-GCM under BERTH_SECRET_KEY. A sealed value is
 * `v1.<iv base64url>.<ciphertext base64url>.<tag base64url>`; tampering makes open() throw.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const VERSION = 'v1';
const IV_BYTES = 12;

export class SecretBox {
  /** `ephemeral`: the key was generated for this process (BERTH_SECRET_KEY unset), so sealed values do not survive a restart. */
  constructor(
    private readonly key: Buffer,
    readonly ephemeral = false,
  ) {
    if (key.length !== 32) throw new RangeError('an AES-256-GCM key is 32 bytes');
  }

  static fromKey(key: Buffer | undefined): SecretBox {
    return key ? new SecretBox(key) : new SecretBox(randomBytes(32), true);
  }

  seal(plaintext: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [VERSION, iv.toString('base64url'), body.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
  }

  /** Throws when the value was not sealed under this key or was altered. */
  open(sealed: string): string {
    const [version, iv, body, tag] = sealed.split('.');
    if (version !== VERSION || iv === undefined || body === undefined || tag === undefined) throw new Error('not a sealed secret');
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
  }
}

/** A new webhook secret: 32 random bytes, hex (what users paste into their git host). */
export const newWebhookSecret = (): string => randomBytes(32).toString('hex');
