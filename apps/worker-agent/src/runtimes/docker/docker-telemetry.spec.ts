import { describe, expect, it } from 'vitest';
import { cgroupDirs, parseBlkioV1, parseIoStatV2, parseMountInfo, parseNetDev } from './cgroup-stats';
import { FrameDecoder, dockerSince, timestampNanos } from './docker-logs';
import { cpuPercent, readingFromEngine } from './docker-stats';

function frame(stream: number, payload: string): Buffer {
  const body = Buffer.from(payload);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
}

describe('FrameDecoder', () => {
  it('decodes frames split anywhere, with their stream and stamp', () => {
    const bytes = Buffer.concat([frame(1, '2026-12-03T07:56:19.987907935Z hello\n'), frame(2, '2026-12-03T07:56:20Z oops\n')]);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const d = new FrameDecoder();
      const chunks = [...d.push(bytes.subarray(0, cut)), ...d.push(bytes.subarray(cut))];
      expect(chunks.map((c) => [c.stream, c.ts, c.data.toString()])).toEqual([
        ['stdout', '2026-12-03T07:56:19.987907935Z', 'hello\n'],
        ['stderr', '2026-12-03T07:56:20Z', 'oops\n'],
      ]);
    }
  });
});

describe('timestamps', () => {
  it('orders Docker stamps whatever the trailing zeros, and makes the Engine since value', () => {
    expect(timestampNanos('2026-01-01T00:00:01.5Z')).toBe(timestampNanos('2026-01-01T00:00:01.500000000Z'));
    expect(timestampNanos('2026-01-01T00:00:01.000000001Z') > timestampNanos('2026-01-01T00:00:01Z')).toBe(true);
    expect(dockerSince('2026-12-03T07:56:26.745511068Z')).toBe('1796284586.745511068');
    expect(dockerSince('2026-12-03T07:56:26.7Z')).toBe('1796284586.700000000');
  });
});

describe('cgroup files', () => {
  const mountinfo = [
    '30 25 0:26 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw,nsdelegate',
    '31 25 0:27 / /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory',
    '32 25 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid - cgroup cgroup rw,cpu,cpuacct',
    '33 25 0:29 /outer /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids',
  ].join('\n');

  it('finds a v1 container cgroup by controller, and the v2 one', () => {
    const dirs = cgroupDirs('4:memory:/docker/abc\n2:cpu,cpuacct:/docker/abc\n8:pids:/outer/docker/abc\n0::/docker/abc\n', parseMountInfo(mountinfo));
    expect(Object.fromEntries(dirs)).toEqual({
      memory: '/sys/fs/cgroup/memory/docker/abc',
      cpu: '/sys/fs/cgroup/cpu,cpuacct/docker/abc',
      cpuacct: '/sys/fs/cgroup/cpu,cpuacct/docker/abc',
      pids: '/sys/fs/cgroup/pids/docker/abc',
      unified: '/sys/fs/cgroup/unified/docker/abc',
    });
  });

  it('sums block I/O over devices (v1 and v2) and network over interfaces but loopback', () => {
    expect(parseBlkioV1('8:0 Read 4096\n8:0 Write 100\n8:0 Sync 1\n8:16 Read 4\n8:16 Write 0\nTotal 4200\n')).toEqual({ read: 4100, write: 100, devices: 5 });
    expect(parseIoStatV2('8:0 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=0 dios=0\n8:16 rbytes=1 wbytes=2 rios=1 wios=1\n')).toEqual({ read: 11, write: 22 });
    const netdev = [
      'Inter-|   Receive                                                |  Transmit',
      ' face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed',
      '    lo:     500       5    0    0    0     0          0         0      500       5    0    0    0     0       0          0',
      '  eth0:    1922      24    0    0    0     0          0         0     1292      13    0    0    0     0       0          0',
    ].join('\n');
    expect(parseNetDev(netdev)).toEqual({ rx: 1922, tx: 1292 });
  });
});

describe('stats arithmetic', () => {
  it('reads an Engine one-shot answer the way docker stats shows it', () => {
    const r = readingFromEngine(
      {
        read: '2026-12-03T07:56:20.5Z',
        cpu_stats: { cpu_usage: { total_usage: 5_000_000 } },
        memory_stats: { usage: 10_000, limit: 67_108_864, stats: { total_inactive_file: 4_000 } },
        networks: { eth0: { rx_bytes: 10, tx_bytes: 20 }, eth1: { rx_bytes: 1, tx_bytes: 2 } },
        blkio_stats: { io_service_bytes_recursive: [{ op: 'Read', value: 7 }, { op: 'Write', value: 9 }, { op: 'Total', value: 16 }] },
        pids_stats: { current: 3 },
      },
      0n,
    );
    expect(r).toEqual({
      atNanos: timestampNanos('2026-12-03T07:56:20.5Z'),
      cpuNanos: 5_000_000n,
      memoryBytes: 6_000,
      memoryLimitBytes: 67_108_864,
      netRxBytes: 11,
      netTxBytes: 22,
      blockReadBytes: 7,
      blockWriteBytes: 9,
      pids: 3,
    });
  });

  it('CPU % is the share of one core between two readings; 0 without a previous one or after a restart', () => {
    const at = (s: number, cpuMs: number) => ({ atNanos: BigInt(s * 1e9), cpuNanos: BigInt(cpuMs * 1e6), memoryBytes: 0, memoryLimitBytes: 0, netRxBytes: 0, netTxBytes: 0, blockReadBytes: 0, blockWriteBytes: 0, pids: 0 });
    expect(cpuPercent(undefined, at(5, 100))).toBe(0);
    expect(cpuPercent(at(0, 0), at(5, 2_500))).toBe(50);
    expect(cpuPercent(at(0, 0), at(5, 7_500))).toBe(150);
    expect(cpuPercent(at(0, 900), at(5, 100))).toBe(0);
  });
});
