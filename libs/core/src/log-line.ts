/**
 * Seed section 3: "Each line is sanitised (stripANSI + null byte removal) and capped to 8 KiB before
 * reaching the bus." One function for one line (build output and runtime logs alike), and a splitter
 * that turns a byte stream into such lines with bounded memory. Pure: no I/O, no clock.
 */
import { stripVTControlCharacters } from 'node:util';
import { LOG_LINE_MAX_BYTES } from './seed-rules';

export interface SanitisedLine {
  /** No escape sequence, no ESC, no C1 control, no NUL; well-formed UTF-8 of at most the cap. */
  text: string;
  /** The line was longer than the cap and was cut at a character boundary. */
  truncated: boolean;
}

/**
 * ECMA-48 control strings: OSC, DCS, SOS, PM and APC, with a 7-bit (ESC ] P X ^ _) or 8-bit
 * (U+009D U+0090 U+0098 U+009E U+009F) introducer, ended by ST (ESC \ or U+009C) or, as xterm
 * accepts, BEL; one never ended runs to the end of the line. Node's stripVTControlCharacters misses
 * these whenever their payload holds a space or any character outside its short list (window titles,
 * OSC 8 hyperlinks, DCS, APC), so they go first.
 */
const CONTROL_STRING = /(?:\u001b[\]PX^_]|[\u0090\u0098\u009d\u009e\u009f])[^\u0007\u001b\u009c]*(?:\u0007|\u001b\\|\u009c|(?=\u001b)|$)/g;
/**
 * The escape sequences that are not CSI: ESC, any intermediates (0x20–0x2F), one final byte
 * (0x30–0x7E), e.g. ESC c, ESC 7, ESC ( B, ESC =. Node's pattern reads digits after ESC as
 * parameters and so eats the text after ESC 7 ("ESC 7 saved" lost its "s").
 */
const SINGLE_ESCAPE = /\u001b[\u0020-\u002f]*[\u0030-\u005a\u005c\u0060-\u007e]/g;
/** Whatever an escape grammar left behind: a lone ESC, the C1 controls (U+0080–U+009F), NUL. */
const LEFTOVER_CONTROLS = /[\u0000\u001b\u0080-\u009f]/g;
/** Half of a surrogate pair: not encodable as UTF-8. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Any character an escape sequence starts with or that must go: most lines have none. */
const ANY_CONTROL = /[\u0000\u001b\u0080-\u009f]/;

/** Removes escape sequences and NUL bytes; leaves the text a person would read. */
export function stripControlSequences(text: string): string {
  if (!ANY_CONTROL.test(text)) return text;
  // CSI (with its 8-bit form U+009B: parameters, intermediates, final byte) is what Node's own
  // stripper covers well; control strings and the other escapes are removed before it sees them.
  return stripVTControlCharacters(text.replace(CONTROL_STRING, '').replace(SINGLE_ESCAPE, '')).replace(LEFTOVER_CONTROLS, '');
}

/** The longest prefix of buf, at most max bytes, that does not end inside a UTF-8 character. */
export function utf8Prefix(buf: Buffer, max: number): Buffer {
  if (buf.length <= max) return buf;
  let end = max;
  // Back up over continuation bytes (10xxxxxx) to the lead byte of the character the cut would split.
  while (end > 0 && (buf[end]! & 0xc0) === 0x80) end--;
  return buf.subarray(0, end);
}

/**
 * One line by the seed's rules: escape sequences and NUL removed, invalid UTF-8 (a Buffer) or half
 * surrogate pairs (a string) replaced by U+FFFD, then cut to maxBytes of UTF-8 without splitting a
 * character. Trailing CRs (of a CRLF line end, or a progress line's last redraw) are dropped, also
 * where the cut leaves one at the end, so sanitising its own output changes nothing.
 */
export function sanitizeLogLine(input: string | Buffer, maxBytes: number = LOG_LINE_MAX_BYTES): SanitisedLine {
  let text = typeof input === 'string' ? input.replace(LONE_SURROGATE, '\uFFFD') : input.toString('utf8');
  text = stripControlSequences(text);
  text = withoutTrailingCR(text);
  // Cheap exit: every UTF-16 unit is at most 3 bytes of UTF-8.
  if (text.length * 3 <= maxBytes) return { text, truncated: false };
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return { text, truncated: false };
  return { text: withoutTrailingCR(utf8Prefix(bytes, maxBytes).toString('utf8')), truncated: true };
}

function withoutTrailingCR(text: string): string {
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 13) end--;
  return end === text.length ? text : text.slice(0, end);
}

export interface SplitterOptions {
  /** Cap of a sanitised line (default LOG_LINE_MAX_BYTES). */
  maxBytes?: number;
  /**
   * Most raw bytes kept for one unfinished line (default 8 × maxBytes, room for escape sequences
   * that sanitising removes). A longer line is emitted from its first maxRawBytes, marked truncated,
   * and the rest of it, up to its newline, is skipped.
   */
  maxRawBytes?: number;
}

/**
 * Turns a byte stream into sanitised lines: LF or CRLF ends a line, a line may span any number of
 * chunks, and an unterminated huge line never holds more than maxRawBytes.
 */
export class LogLineSplitter {
  private readonly maxBytes: number;
  private readonly maxRawBytes: number;
  private parts: Buffer[] = [];
  private size = 0;
  /** Inside the rest of a line already emitted as truncated: skip to its newline. */
  private skipping = false;

  constructor(options: SplitterOptions = {}) {
    this.maxBytes = options.maxBytes ?? LOG_LINE_MAX_BYTES;
    this.maxRawBytes = Math.max(this.maxBytes, options.maxRawBytes ?? 8 * this.maxBytes);
  }

  /** Whether part of a line is waiting for its end (or being skipped). */
  get pending(): boolean {
    return this.size > 0 || this.skipping;
  }

  /** The lines this chunk completed, in order. */
  push(chunk: Buffer): SanitisedLine[] {
    const out: SanitisedLine[] = [];
    let start = 0;
    while (start < chunk.length) {
      const nl = chunk.indexOf(0x0a, start);
      const end = nl === -1 ? chunk.length : nl;
      if (this.skipping) {
        if (nl !== -1) this.skipping = false;
      } else {
        this.append(chunk.subarray(start, end), out);
        if (nl !== -1) {
          if (this.skipping) this.skipping = false;
          else out.push(this.take(false));
        }
      }
      start = end + 1;
    }
    return out;
  }

  /** At the end of the stream: the unfinished line, if any. */
  end(): SanitisedLine[] {
    const out = this.size > 0 ? [this.take(false)] : [];
    this.skipping = false;
    return out;
  }

  private append(piece: Buffer, out: SanitisedLine[]): void {
    if (piece.length === 0) return;
    if (this.size + piece.length <= this.maxRawBytes) {
      this.parts.push(piece);
      this.size += piece.length;
      return;
    }
    // Past the raw bound: emit what fits (not splitting a character), mark it cut, skip the rest.
    let keep = this.maxRawBytes - this.size;
    while (keep > 0 && (piece[keep]! & 0xc0) === 0x80) keep--;
    this.parts.push(piece.subarray(0, keep));
    this.size += keep;
    out.push(this.take(true));
    this.skipping = true;
  }

  private take(cut: boolean): SanitisedLine {
    const raw = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.size);
    this.parts = [];
    this.size = 0;
    const line = sanitizeLogLine(raw, this.maxBytes);
    return cut ? { text: line.text, truncated: true } : line;
  }
}

/** Text JSON writes as it is: printable ASCII but `"` and `\\`. */
const JSON_PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/**
 * The bytes `text` takes in JSON as UTF-8, quotes included. Not its length: a control character (an
 * app or a build printing a binary file) becomes a six-byte escape and a character past ASCII two to
 * four bytes, so a batch of lines counted by length can pass a socket.io message limit.
 */
export function jsonTextBytes(text: string): number {
  return JSON_PLAIN.test(text) ? text.length + 2 : Buffer.byteLength(JSON.stringify(text));
}
