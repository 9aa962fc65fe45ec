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
