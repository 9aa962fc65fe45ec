import { describe, expect, it } from 'vitest';
import { BuildkitProgress, decodeBuildStatus } from './buildkit-progress';

/** Protobuf wire encoding, enough to write StatusResponse messages. */
function varint(n: number): Buffer {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 128) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
}
const len = (no: number, body: Buffer | string) => {
  const b = Buffer.isBuffer(body) ? body : Buffer.from(body);
  return Buffer.concat([varint(no * 8 + 2), varint(b.length), b]);
};
const num = (no: number, n: number) => Buffer.concat([varint(no * 8), varint(n)]);
const ts = (ms: number) => Buffer.concat([num(1, Math.floor(ms / 1000)), num(2, (ms % 1000) * 1e6)]);

interface V {
  digest: string;
  name?: string;
  cached?: boolean;
  started?: number;
  completed?: number;
  error?: string;
}
const vertex = (v: V) =>
  len(
    1,
    Buffer.concat([
      len(1, v.digest),
      len(2, 'sha256:input'),
      ...(v.name ? [len(3, v.name)] : []),
      ...(v.cached ? [num(4, 1)] : []),
      ...(v.started !== undefined ? [len(5, ts(v.started))] : []),
      ...(v.completed !== undefined ? [len(6, ts(v.completed))] : []),
      ...(v.error ? [len(7, v.error)] : []),
    ]),
  );
const log = (digest: string, text: string) => len(3, Buffer.concat([len(1, digest), len(2, ts(1_700_000_000_000)), num(3, 1), len(4, text)]));
const status = (...parts: Buffer[]) => Buffer.concat(parts).toString('base64');

const T = 1_764_000_000_000;

describe('decodeBuildStatus', () => {
  it('reads a status the Engine sent: a step with its name, start and end', () => {
    // From a real build: "[internal] load remote build context", started and completed.
    const real = Buffer.from(
      'CosBCkdzaGEyNTY6ZWVhMmY3NzZiNjNhOGJiZDAzY2FjMjgyODA5ZTUwMzc3Y2ViOGRjYjk0ZDMwY2JiNTlkZjlmZGM0MzM4ZDFmMxokW2ludGVybmFsXSBsb2FkIHJlbW90ZSBidWlsZCBjb250ZXh0KgwIydnF2AYQ68WjoAEyDAjJ2cXYBhD71YKiAQ==',
      'base64',
    );
    const [v] = decodeBuildStatus(real).vertexes;
    expect(v.digest).toBe('sha256:eea2f776b63a8bbd03cac282809e50377ceb8dcb94d30cbb59df9fdc4338d1f3');
    expect(v.name).toBe('[internal] load remote build context');
    expect(v.cached).toBe(false);
    expect(v.completed! - v.started!).toBeGreaterThanOrEqual(0);
    expect(v.completed! - v.started!).toBeLessThan(1_000);
    expect(new Date(v.started!).getUTCFullYear()).toBeGreaterThan(2020);
  });

  it('reads step output and errors, and refuses a truncated message', () => {
    const s = decodeBuildStatus(Buffer.from(status(vertex({ digest: 'a', name: 'RUN x', started: T, completed: T + 5, error: 'exit code: 2' }), log('a', 'hello\n')), 'base64'));
    expect(s.vertexes[0]).toMatchObject({ digest: 'a', name: 'RUN x', error: 'exit code: 2', started: T, completed: T + 5 });
    expect(s.logs.map((l) => [l.vertex, l.data.toString()])).toEqual([['a', 'hello\n']]);
    expect(() => decodeBuildStatus(Buffer.from([0x0a, 0x05, 0x01]))).toThrow('truncated');
  });
});

describe('BuildkitProgress', () => {
  it('prints each step once, numbered in order of appearance, with its output and how it ended', () => {
    const p = new BuildkitProgress();
    const lines = [
      // A step is named once it starts (or is found cached), not when it is only announced.
      ...p.lines(status(vertex({ digest: 'from', name: '[1/3] FROM busybox' }), vertex({ digest: 'run', name: '[2/3] RUN make' }))),
      ...p.lines(status(vertex({ digest: 'from', name: '[1/3] FROM busybox', cached: true, started: T, completed: T }))),
      ...p.lines(status(vertex({ digest: 'run', name: '[2/3] RUN make', started: T }), log('run', 'compiling a\ncompil'))),
      ...p.lines(status(log('run', 'ing b\r\n\n'))),
      ...p.lines(status(vertex({ digest: 'run', name: '[2/3] RUN make', started: T, completed: T + 1_250 }), log('run', 'linked'))),
      ...p.lines(status(vertex({ digest: 'run', name: '[2/3] RUN make', started: T, completed: T + 1_250 }))),
      ...p.lines(status(vertex({ digest: 'copy', name: '[3/3] COPY . /app', started: T + 2_000, completed: T + 2_100, error: 'no such file' }))),
    ];
    expect(lines).toEqual([
      '#1 [1/3] FROM busybox',
      '#1 CACHED',
      '#2 [2/3] RUN make',
      '#2 compiling a',
      '#2 compiling b',
      '#2 linked',
      '#2 DONE 1.3s',
      '#3 [3/3] COPY . /app',
      '#3 ERROR: no such file',
    ]);
  });

  it('gives no lines for a message it cannot decode', () => {
    expect(new BuildkitProgress().lines('not base64 protobuf!')).toEqual([]);
  });
});
