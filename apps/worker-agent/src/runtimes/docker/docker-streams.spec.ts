import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { EngineProgress } from './docker-streams';
import { demuxLogs, followEngineStream, textLines } from './docker-streams';

function frame(kind: 1 | 2, text: string): Buffer {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = kind;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

describe('demuxLogs', () => {
  it('joins stdout and stderr frames into lines, in order', () => {
    const buf = Buffer.concat([frame(1, 'one\ntw'), frame(2, 'o\r\n'), frame(1, '\nthree\n')]);
    expect(demuxLogs(buf)).toEqual(['one', 'two', 'three']);
  });

  it('takes unframed output (a TTY container) as plain text', () => {
    expect(demuxLogs(Buffer.from('plain\nlines\n'))).toEqual(['plain', 'lines']);
  });
});

describe('followEngineStream', () => {
  it('hands over each JSON line, even when split across chunks, and resolves clean', async () => {
    const stream = new PassThrough();
    const seen: EngineProgress[] = [];
    const done = followEngineStream(stream, (e) => seen.push(e));
    stream.write('{"stream":"Step 1/2 : FROM x\\n"}\n{"str');
    stream.write('eam":"Step 2/2 : RUN y\\n"}\n');
    stream.end('{"aux":{"ID":"sha256:abc"}}');
    expect(await done).toBeUndefined();
    expect(seen.map((e) => e.stream ?? (typeof e.aux === 'object' ? e.aux.ID : e.aux))).toEqual(['Step 1/2 : FROM x\n', 'Step 2/2 : RUN y\n', 'sha256:abc']);
  });

  it("resolves with the builder's own error message", async () => {
    const stream = new PassThrough();
    const done = followEngineStream(stream, () => undefined);
    stream.end(
      '{"stream":"Step 2/2 : RUN false\\n"}\n' +
        '{"errorDetail":{"code":1,"message":"The command \'/bin/sh -c false\' returned a non-zero code: 1"},"error":"The command \'/bin/sh -c false\' returned a non-zero code: 1"}\n',
    );
    expect(await done).toBe("The command '/bin/sh -c false' returned a non-zero code: 1");
  });

  it('rejects when the stream itself breaks', async () => {
    const stream = new PassThrough();
    const done = followEngineStream(stream, () => undefined);
    stream.destroy(new Error('socket hang up'));
    await expect(done).rejects.toThrow('socket hang up');
  });
});

describe('textLines', () => {
  it('drops blank lines and carriage returns', () => {
    expect(textLines(' a \r\n\n\rb\n')).toEqual([' a', 'b']);
  });
});
