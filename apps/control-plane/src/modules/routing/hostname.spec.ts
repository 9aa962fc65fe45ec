import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { validateHostname } from './hostname';
import { buildHostRule, isSafeRuleHost } from './traefik-config';

const refused = (input: unknown): string => {
  const r = validateHostname(input);
  if (r.ok) throw new Error(`expected ${JSON.stringify(input)} to be refused, got ${r.hostname}`);
  return r.message;
};

describe('validateHostname', () => {
  it('accepts a plain name, lowercases it, and converts an internationalised name to punycode', () => {
    expect(validateHostname('App.Example.COM')).toEqual({ ok: true, hostname: 'app.example.com' });
    expect(validateHostname('пример.рф')).toEqual({ ok: true, hostname: 'xn--e1afmkfd.xn--p1ai' });
    expect(validateHostname('bücher.example')).toEqual({ ok: true, hostname: 'xn--bcher-kva.example' });
    expect(validateHostname('a-b.c1.io')).toEqual({ ok: true, hostname: 'a-b.c1.io' });
    expect(validateHostname('a.xn--4ca')).toEqual({ ok: true, hostname: 'a.xn--4ca' });
    expect(validateHostname('a.Ä')).toEqual({ ok: true, hostname: 'a.xn--4ca' });
  });

  it.each([
    ['a.com`) || Host(`b.com', /backtick/],
    ['evil`.com', /backtick/],
    ['a.com" b', /double quote/],
    ["a'b.com", /single quote/],
    ['a b.com', /whitespace/],
    ['a.com\tx', /whitespace/],
    ['a.com,b.com', /comma/],
    ['a.com)', /parenthesis/],
    ['a.com||b.com', /pipe/],
    ['a.com&&b', /ampersand/],
    ['a.com!', /exclamation/],
    ['a\u0000b.com', /control character/],
    ['*.example.com', /wildcard/],
    ['example.com.', /trailing dot/],
    ['a..example.com', /empty label/],
    ['.example.com', /empty label/],
    ['localhost', /single label/],
    ['a_b.example.com', /label "a_b"/],
    ['-a.example.com', /does not start or end with a hyphen/],
    ['1.2.3.4', /IP address/],
    ['xn--zz.com', /not a valid internationalised domain name/],
    // Unicode look-alikes: Cyrillic а among Latin letters, an all-Cyrillic "paypal", full-width letters,
    // a full-width dot, a soft hyphen and a zero-width space that IDNA silently drops.
    ['\u0430pple.com', /mixes Latin and Cyrillic/],
    ['\u0440\u0430\u0443\u0440\u0430\u04cf.com', /look like Latin ones/],
    ['xn--pple-43d.com', /mixes Latin and Cyrillic/],
    ['ｅｘａｍｐｌｅ.com', /U\+FF45.*IDNA turns into something else/],
    ['a．com', /U\+FF0E/],
    ['exa\u00admple.com', /U\+00AD/],
    ['exa\u200bmple.com', /U\+200B/],
    [`${'a'.repeat(64)}.com`, /label of 64 characters.*at most 63/],
    [`${'a.'.repeat(150)}com`, /is 303 characters long; a hostname is at most 253/],
    ['', /must not be empty/],
  ])('refuses %j with a message saying what is wrong', (input, why) => {
    const message = refused(input);
    expect(message).toMatch(why);
    expect(message).toMatch(/^hostname /);
  });

  it('refuses a non-string', () => {
    expect(refused(42)).toBe('hostname must be a string');
  });

  it('a 253-character name with 63-character labels is the longest accepted', () => {
    const label = 'a'.repeat(63);
    const name = `${label}.${label}.${label}.${'b'.repeat(61)}`;
    expect(name).toHaveLength(253);
    expect(validateHostname(name)).toEqual({ ok: true, hostname: name });
    expect(refused(`c${name}`)).toMatch(/254 characters long|label of 64/);
  });

  it('whatever the input, an accepted name is safe inside a Host() rule and stays accepted as it is (property)', () => {
    const alphabet = fc.constantFrom(...'abcxyz019-.`"\' ,()|&*ÄäаοＡ\u200b\u00ad_:/'.split(''));
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.domain(), fc.stringOf(alphabet, { maxLength: 40 })), (input) => {
        const r = validateHostname(input);
        if (!r.ok) {
          expect(r.message.length).toBeGreaterThan(10);
          return;
        }
        expect(isSafeRuleHost(r.hostname)).toBe(true);
        expect(buildHostRule([r.hostname])).toBe(`Host(\`${r.hostname}\`)`);
        expect(validateHostname(r.hostname)).toEqual({ ok: true, hostname: r.hostname });
      }),
      { numRuns: 2000 },
    );
  });

  it('every generated valid domain is accepted, lowercased (property)', () => {
    fc.assert(
      fc.property(fc.domain(), (d) => {
        const r = validateHostname(d);
        if (/^[0-9]+$/.test(d.split('.').at(-1)!)) return;
        expect(r).toEqual({ ok: true, hostname: d.toLowerCase() });
      }),
    );
  });
});
