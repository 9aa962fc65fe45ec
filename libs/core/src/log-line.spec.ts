import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LogLineSplitter, sanitizeLogLine, stripControlSequences } from './log-line';
import { LOG_LINE_MAX_BYTES } from './seed-rules';

const ESC = '\u001b';
const MiB = 1024 * 1024;

/** The rules every sanitised line obeys, whatever came in. */
function expectSeedRules(text: string): void {
  const bytes = Buffer.from(text, 'utf8');
  expect(bytes.length).toBeLessThanOrEqual(LOG_LINE_MAX_BYTES);
  // Well-formed UTF-8: decoding and encoding again changes nothing (no lone surrogate, no U+FFFD added).
  expect(Buffer.from(bytes.toString('utf8'), 'utf8').equals(bytes)).toBe(true);
  expect(new TextDecoder('utf-8', { fatal: true }).decode(bytes)).toBe(text);
  expect(text).not.toContain(ESC);
  expect(text).not.toContain('\u0000');
  expect(text).not.toMatch(/[\u0080-\u009f]/);
}

describe('sanitizeLogLine', () => {
  const cases: [name: string, input: string | Buffer, text: string][] = [
    ['plain text is kept', 'GET /health 200 3ms', 'GET /health 200 3ms'],
    ['SGR colours', `${ESC}[31merror${ESC}[0m: ${ESC}[1;38;5;208mdisk${ESC}[39;49m full`, 'error: disk full'],
    ['24-bit colour', `${ESC}[38;2;255;100;0morange${ESC}[m`, 'orange'],
    ['cursor movement and erase', `${ESC}[2K${ESC}[1G${ESC}[3A50%${ESC}[?25l${ESC}[10;20H!`, '50%!'],
    ['OSC title ended by BEL', `${ESC}]0;my app: building\u0007done`, 'done'],
    ['OSC title ended by ST (ESC \\)', `${ESC}]2;a window title with spaces${ESC}\\done`, 'done'],
    ['OSC 8 hyperlink', `${ESC}]8;;https://example.com/a b?c=d${ESC}\\docs${ESC}]8;;${ESC}\\ here`, 'docs here'],
    ['OSC never ended runs to the end of the line', `before${ESC}]0;title without end`, 'before'],
    ['DCS string', `a${ESC}Pq#0;2;0;0;0#1;2;100;100;0${ESC}\\b`, 'ab'],
    ['SOS, PM and APC strings', `a${ESC}Xsos${ESC}\\b${ESC}^pm${ESC}\\c${ESC}_apc payload${ESC}\\d`, 'abcd'],
    ['single-character escapes', `${ESC}c${ESC}7saved${ESC}8${ESC}(B${ESC}=${ESC}M`, 'saved'],
    ['8-bit C1 CSI and OSC', '\u009b31mred\u009b0m \u009d0;title\u009cok', 'red ok'],
    ['a lone ESC and a lone C1 control', `x${ESC}${ESC}[1my\u0085z${ESC}`, 'xyz'],
    ['ESC with an intermediate byte', `${ESC}#8${ESC} Fwide`, 'wide'],
    ['NUL bytes', 'a\u0000b\u0000\u0000c', 'abc'],
    ['NUL inside an escape sequence', `${ESC}[3\u00001mred`, '1mred'],
    ['invalid UTF-8 becomes U+FFFD', Buffer.from([0x61, 0xff, 0x62, 0xc3, 0x28, 0xe2, 0x82]), 'a\ufffdb\ufffd(\ufffd'],
    ['a raw 8-bit CSI byte is invalid UTF-8, not an escape', Buffer.from([0x9b, 0x33, 0x31, 0x6d, 0x78]), '\ufffd31mx'],
    ['half a surrogate pair', 'a\ud800b\udc00c', 'a\ufffdb\ufffdc'],
    ['CRLF line end', 'windows line\r', 'windows line'],
    ['multi-byte characters are kept', 'žluťoučký kůň 🐎 日本', 'žluťoučký kůň 🐎 日本'],
  ];
  it.each(cases)('%s', (_name, input, text) => {
    const out = sanitizeLogLine(input);
    expect(out).toEqual({ text, truncated: false });
    expectSeedRules(out.text);
  });

  it('cuts a 1 MiB line to 8 KiB and says so', () => {
    const out = sanitizeLogLine('x'.repeat(MiB));
    expect(out.truncated).toBe(true);
    expect(out.text).toBe('x'.repeat(LOG_LINE_MAX_BYTES));
  });

  it('keeps a line of exactly 8 KiB whole', () => {
    expect(sanitizeLogLine('y'.repeat(LOG_LINE_MAX_BYTES))).toEqual({ text: 'y'.repeat(LOG_LINE_MAX_BYTES), truncated: false });
  });

  it('counts the cap after sanitising: escape codes do not use it up', () => {
    const body = 'z'.repeat(LOG_LINE_MAX_BYTES);
    expect(sanitizeLogLine(`${ESC}[32m${body}${ESC}[0m`)).toEqual({ text: body, truncated: false });
  });

  it.each([
    ['2-byte', 'é'],
    ['3-byte', '€'],
    ['4-byte', '🐎'],
  ])('never splits a %s character straddling the 8 KiB boundary', (_n, ch) => {
    const width = Buffer.byteLength(ch);
    for (let pad = LOG_LINE_MAX_BYTES - width + 1; pad < LOG_LINE_MAX_BYTES; pad++) {
      const out = sanitizeLogLine('a'.repeat(pad) + ch + 'tail');
      expect(out.truncated).toBe(true);
      expect(out.text).toBe('a'.repeat(pad));
      expectSeedRules(out.text);
    }
  });

  it('leaves Node stripVTControlCharacters the CSI forms it handles well', () => {
    expect(stripControlSequences(`${ESC}[?1049h${ESC}[Hfull screen${ESC}[?1049l`)).toBe('full screen');
  });
});

describe('sanitizeLogLine properties', () => {
  /** Text and escape-heavy noise: every introducer, terminators, NUL, C1, surrogates, emoji. */
  const noisy = fc
    .array(
      fc.oneof(
        fc.string({ unit: 'binary' }),
        fc.constantFrom(ESC, `${ESC}[`, `${ESC}]`, `${ESC}P`, `${ESC}_`, `${ESC}\\`, '\u0007', '\u0000', '\u009b', '\u009c', '\u009d', '\ud83d', '\ude00', '🐎', 'é', '\r'),
        fc.constantFrom(`${ESC}[31m`, `${ESC}]0;t i t l e\u0007`, `${ESC}]2;x${ESC}\\`, `${ESC}[2K`),
      ),
    )
    .map((parts) => parts.join(''));

  it('a string: valid UTF-8, at most 8 KiB, no ESC, no NUL', () => {
    fc.assert(
      fc.property(noisy, fc.nat(3 * LOG_LINE_MAX_BYTES), (s, pad) => {
        const out = sanitizeLogLine('w'.repeat(pad) + s);
        expectSeedRules(out.text);
      }),
      { numRuns: 300 },
    );
  });

  it('bytes: valid UTF-8, at most 8 KiB, no ESC, no NUL', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2 * LOG_LINE_MAX_BYTES + 100 }), (bytes) => {
        expectSeedRules(sanitizeLogLine(Buffer.from(bytes)).text);
      }),
      { numRuns: 300 },
    );
  });

  it('sanitising is idempotent, and text without controls is untouched', () => {
    for (const s of ['\r\r', 'a\r\r\r', 'w'.repeat(LOG_LINE_MAX_BYTES - 1) + '\r\rtail']) {
      const once = sanitizeLogLine(s).text;
      expect(sanitizeLogLine(once).text).toBe(once);
      expect(once.endsWith('\r')).toBe(false);
    }
    fc.assert(
      fc.property(noisy, (s) => {
        const once = sanitizeLogLine(s).text;
        expect(sanitizeLogLine(once).text).toBe(once);
      }),
    );
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 200 }), (s) => {
        const clean = s.replace(/[\u0000-\u001f\u007f-\u009f]/g, '');
        expect(sanitizeLogLine(clean).text).toBe(clean);
      }),
    );
  });
});

describe('LogLineSplitter', () => {
  const texts = (lines: { text: string }[]) => lines.map((l) => l.text);

  it('splits on LF and CRLF, joining a line split across chunks', () => {
    const s = new LogLineSplitter();
    expect(texts(s.push(Buffer.from('one\r\ntw')))).toEqual(['one']);
    expect(s.pending).toBe(true);
    expect(texts(s.push(Buffer.from('o\nthree\n\nfour')))).toEqual(['two', 'three', '']);
    expect(texts(s.end())).toEqual(['four']);
    expect(s.pending).toBe(false);
  });

  it('joins a multi-byte character split across chunks', () => {
    const s = new LogLineSplitter();
    const horse = Buffer.from('🐎\n');
    expect(s.push(horse.subarray(0, 2))).toEqual([]);
    expect(s.push(horse.subarray(2))).toEqual([{ text: '🐎', truncated: false }]);
  });

  it('emits an unterminated huge line at the cap, skips the rest of it, and goes on', () => {
    const s = new LogLineSplitter();
    const out: { text: string; truncated: boolean }[] = [];
    const chunk = Buffer.alloc(64 * 1024, 'x');
    for (let i = 0; i < 16; i++) out.push(...s.push(chunk)); // 1 MiB, no newline yet
    expect(out).toEqual([{ text: 'x'.repeat(LOG_LINE_MAX_BYTES), truncated: true }]);
    out.push(...s.push(Buffer.from('x\nnext\n')));
    expect(out.slice(1)).toEqual([{ text: 'next', truncated: false }]);
  });

  it('never holds more than maxRawBytes of one line', () => {
    const s = new LogLineSplitter({ maxBytes: 16, maxRawBytes: 32 });
    const got = s.push(Buffer.from(`${'a'.repeat(40)}\n${ESC}[31m${'b'.repeat(10)}${ESC}[0m\n`));
    expect(got).toEqual([
      { text: 'a'.repeat(16), truncated: true },
      { text: 'b'.repeat(10), truncated: false },
    ]);
  });

  it('any chunking of a stream gives the same lines, each obeying the rules', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.string({ unit: 'binary', maxLength: 50 }), fc.constantFrom('\n', '\r\n', `${ESC}[1m`, '🐎', 'x'.repeat(9000))), { maxLength: 30 }),
        fc.array(fc.nat(200), { maxLength: 20 }),
        (parts, cuts) => {
          const bytes = Buffer.from(parts.join(''));
          const whole = new LogLineSplitter();
          const expected = [...whole.push(bytes), ...whole.end()];
          const chunked = new LogLineSplitter();
          const got: { text: string; truncated: boolean }[] = [];
          let at = 0;
          for (const c of cuts) {
            got.push(...chunked.push(bytes.subarray(at, at + c)));
            at = Math.min(bytes.length, at + c);
          }
          got.push(...chunked.push(bytes.subarray(at)), ...chunked.end());
          expect(got).toEqual(expected);
          for (const l of got) expectSeedRules(l.text);
        },
      ),
      { numRuns: 200 },
    );
  });
});
