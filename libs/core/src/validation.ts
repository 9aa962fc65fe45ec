/** Validation rules used by more than one part of Berth: one copy each. */

export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID_PATTERN.test(value);
}

/** One DNS label (RFC 1123), lowercase: app names, worker names and zones become hostnames. */
export const DNS_LABEL_PATTERN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
export const DNS_LABEL_RULE = 'must be a DNS label: 1 to 63 lowercase letters, digits or hyphens, starting and ending with a letter or digit';

export function isDnsLabel(value: unknown): value is string {
  return typeof value === 'string' && DNS_LABEL_PATTERN.test(value);
}

/**
 * A hostname a proxy may route: two or more RFC 1123 labels (lowercase letters, digits, inner
 * hyphens, 1 to 63 characters), at most 253 characters in all, no trailing dot. Nothing else can
 * reach a Traefik Host() rule or a Caddy host matcher. A loop over char codes: it runs for every host
 * of every render, where a regular expression of this shape backtracks.
 */
export function isRoutableHostname(host: string): boolean {
  const n = host.length;
  if (n === 0 || n > 253) return false;
  let labels = 1;
  let labelLength = 0;
  let prev = 0;
  for (let i = 0; i < n; i++) {
    const c = host.charCodeAt(i);
    if (c === 0x2e) {
      if (labelLength === 0 || prev === 0x2d) return false;
      labels++;
      labelLength = 0;
    } else if ((c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || (c === 0x2d && labelLength > 0)) {
      if (++labelLength > 63) return false;
    } else {
      return false;
    }
    prev = c;
  }
  return labelLength > 0 && prev !== 0x2d && labels >= 2;
}
