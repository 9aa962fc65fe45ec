/**
 * Hostname validation for custom domains. A hostname ends up inside a Traefik rule (Host(`...`)) and a
 * Caddy host matcher, so it is refused unless it is a plain DNS name: IDNA to punycode with Node's own
 * `domainToASCII`, lowercase, RFC 1123 labels, at most 253 characters, no trailing dot, no wildcard,
 * nothing that could end a rule early, and no Unicode that only looks like another name.
 * Pure: no framework, no I/O.
 */
import { domainToASCII, domainToUnicode } from 'node:url';

export type HostnameCheck = { ok: true; hostname: string } | { ok: false; message: string };

export const HOSTNAME_MAX_LENGTH = 253;
export const LABEL_MAX_LENGTH = 63;

const LABEL = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

/** Characters that could end a `Host(\`...\`)` matcher or start another one, with what to call them. */
const RULE_BREAKERS: ReadonlyArray<[RegExp, string]> = [
  [/`/, 'a backtick (`)'],
  [/"/, 'a double quote (")'],
  [/'/, "a single quote (')"],
  [/\s/u, 'whitespace'],
  [/,/, 'a comma'],
  [/[()]/, 'a parenthesis'],
  [/\|/, 'a pipe (|)'],
  [/&/, 'an ampersand (&)'],
  [/!/, 'an exclamation mark (!)'],
  [/[\\/:;@?#%{}[\]<>=$^~+]/, 'a character that has no place in a hostname'],
  [/\p{Cc}/u, 'a control character'],
];

/** Scripts whose letters pass for Latin ones (Cyrillic а, Greek ο): a label may not mix them. */
const LOOKALIKE_SCRIPTS: ReadonlyArray<[RegExp, string]> = [
  [/\p{Script=Latin}/u, 'Latin'],
  [/\p{Script=Cyrillic}/u, 'Cyrillic'],
  [/\p{Script=Greek}/u, 'Greek'],
  [/\p{Script=Armenian}/u, 'Armenian'],
  [/\p{Script=Cherokee}/u, 'Cherokee'],
];

/**
 * Cyrillic and Greek letters drawn like Latin ones. A label written only in these (раураl) is a
 * whole-script look-alike of a Latin name.
 */
const LATIN_LOOKALIKES = new Set([...'аеорсуххіјѕԁԛԝһӏвкмнтьαβεικνορτυχ']);

function shown(input: string): string {
  const s = JSON.stringify(input);
  return s.length > 72 ? `${s.slice(0, 60)}…" (${input.length} characters)` : s;
}

const refuse = (input: string, what: string): HostnameCheck => ({ ok: false, message: `hostname ${shown(input)} ${what}` });

function codePoint(ch: string): string {
  return `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** The IDNA form of a hostname, or a message saying exactly what is wrong with it. */
export function validateHostname(input: unknown): HostnameCheck {
  if (typeof input !== 'string') return { ok: false, message: 'hostname must be a string' };
  if (input.length === 0) return { ok: false, message: 'hostname must not be empty' };
  for (const [pattern, what] of RULE_BREAKERS) {
    const m = pattern.exec(input);
    if (m) return refuse(input, `contains ${what} (${codePoint(m[0])}); a hostname is letters, digits, hyphens and dots only`);
  }
  if (input.includes('*')) return refuse(input, 'is a wildcard; add each hostname on its own');
  if (input.endsWith('.')) return refuse(input, 'ends with a dot; write it without the trailing dot');
  if (input.split('.').some((label) => label === '')) return refuse(input, 'has an empty label (two dots in a row, or a leading dot)');

  const ascii = domainToASCII(input);
  if (ascii === '') return refuse(input, 'is not a valid internationalised domain name (IDNA could not convert it)');
  const mapped = mappingProblem(input, ascii);
  if (mapped) return refuse(input, mapped);
  // On the Unicode form, so a look-alike written in punycode (xn--pple-43d.com) is caught too.
  const lookalike = lookalikeProblem(domainToUnicode(ascii));
  if (lookalike) return refuse(input, lookalike);

  if (ascii.length > HOSTNAME_MAX_LENGTH) return refuse(input, `is ${ascii.length} characters long; a hostname is at most ${HOSTNAME_MAX_LENGTH}`);
  const labels = ascii.split('.');
  if (labels.length < 2) return refuse(input, 'has a single label; use a full domain name such as app.example.com');
  for (const label of labels) {
    if (label.length > LABEL_MAX_LENGTH) return refuse(input, `has a label of ${label.length} characters ("${label.slice(0, 20)}…"); a label is at most ${LABEL_MAX_LENGTH}`);
    if (!LABEL.test(label)) {
      return refuse(input, `has the label "${label}"; a label is letters, digits and hyphens, and does not start or end with a hyphen`);
    }
  }
  if (/^[0-9]+$/.test(labels[labels.length - 1])) return refuse(input, 'looks like an IP address; custom domains are names');
  return { ok: true, hostname: ascii };
}

/** Characters IDNA would fold into others or drop (full-width letters and dots, soft hyphens, zero-width characters). */
function mappingProblem(input: string, ascii: string): string | undefined {
  const given = input.toLowerCase().normalize('NFC').split('.');
  const converted = ascii.split('.');
  const problem = (label: string, back: string) => {
    const chars = [...label];
    const backChars = [...back];
    const at = chars.findIndex((ch, i) => backChars[i] !== ch);
    const ch = chars[at === -1 ? chars.length - 1 : at];
    return `contains ${codePoint(ch)}, which IDNA turns into something else (a full-width, invisible or compatibility character); type the name in plain characters`;
  };
  if (given.length !== converted.length) return problem(given.join('.'), domainToUnicode(ascii));
  for (let i = 0; i < given.length; i++) {
    // An ASCII label (punycode included) must come through as it is; a Unicode one must round-trip.
    const back = /^[\x00-\x7f]*$/.test(given[i]) ? converted[i] : domainToUnicode(converted[i]);
    if (back !== given[i]) return problem(given[i], back);
  }
  return undefined;
}

function lookalikeProblem(input: string): string | undefined {
  for (const label of input.toLowerCase().split('.')) {
    if (/^[\x00-\x7f]*$/.test(label)) continue;
    const scripts = LOOKALIKE_SCRIPTS.filter(([p]) => p.test(label)).map(([, name]) => name);
    if (scripts.length > 1) return `mixes ${scripts.join(' and ')} letters in "${label}", which makes it look like a different name`;
    const letters = [...label].filter((ch) => /\p{L}/u.test(ch));
    if (letters.length > 0 && letters.every((ch) => LATIN_LOOKALIKES.has(ch))) {
      return `is written in ${scripts[0] ?? 'non-Latin'} letters that look like Latin ones ("${label}"), a look-alike of another name`;
    }
  }
  return undefined;
}
