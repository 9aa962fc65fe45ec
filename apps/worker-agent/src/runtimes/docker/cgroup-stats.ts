/**
 * Reading a container's resource counters straight from the kernel, as cAdvisor does: its cgroup
 * files (v1 or v2) and its init process's /proc/<pid>/net/dev. No call to the Engine, which builds
 * each stats answer from the same files plus a JSON round trip. Parsing is pure; reading is sync
 * (pseudo-files under /sys and /proc never wait on a disk).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

/** Counters of one container at one moment; bytes and nanoseconds are totals since it started. */
export interface StatsReading {
  /** When it was read, in nanoseconds since the epoch. */
  atNanos: bigint;
  cpuNanos: bigint;
  memoryBytes: number;
  /** 0 when the container has no limit (the caller puts the host's memory there). */
  memoryLimitBytes: number;
  netRxBytes: number;
  netTxBytes: number;
  blockReadBytes: number;
  blockWriteBytes: number;
  pids: number;
}

interface Mount {
  root: string;
  mountPoint: string;
}

export interface CgroupMounts {
  /** v1 hierarchies by controller (memory, cpuacct, blkio, pids). */
  v1: Map<string, Mount>;
  /** The v2 (unified) hierarchy, when mounted. */
  v2?: Mount;
}

/** The cgroup mounts in a mountinfo text (/proc/self/mountinfo). */
export function parseMountInfo(text: string): CgroupMounts {
  const mounts: CgroupMounts = { v1: new Map() };
  for (const line of text.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const fields = left.split(' ');
    const [fsType, , superOptions = ''] = right.split(' ');
    const mount = { root: fields[3] ?? '/', mountPoint: fields[4] ?? '' };
    if (fsType === 'cgroup2') mounts.v2 = mount;
    else if (fsType === 'cgroup') for (const option of superOptions.split(',')) mounts.v1.set(option, mount);
  }
  return mounts;
}

/** Directories holding a process's cgroup files, by v1 controller (or 'unified' for v2). */
export function cgroupDirs(procCgroup: string, mounts: CgroupMounts): Map<string, string> {
  const dirs = new Map<string, string>();
  const join = (m: Mount, p: string) => path.join(m.mountPoint, m.root !== '/' && p.startsWith(m.root) ? p.slice(m.root.length) : p);
  for (const line of procCgroup.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line.trim());
    if (!m) continue;
    const [, , controllers, cgroupPath] = m;
    if (controllers === '') {
      if (mounts.v2) dirs.set('unified', join(mounts.v2, cgroupPath!));
      continue;
    }
    for (const c of controllers!.split(',')) {
      const mount = mounts.v1.get(c);
      if (mount) dirs.set(c, join(mount, cgroupPath!));
    }
  }
  return dirs;
}

/** "key value" lines (memory.stat, cpu.stat) -> numbers. */
export function keyValues(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined) out.set(k, Number(v));
  }
  return out;
}

/** v1 blkio "<maj:min> Read <n>" / "<maj:min> Write <n>" lines, summed over devices (devices: device lines seen). */
export function parseBlkioV1(text: string): { read: number; write: number; devices: number } {
  let read = 0;
  let write = 0;
  let devices = 0;
  for (const line of text.split('\n')) {
    const [device, op, n] = line.trim().split(/\s+/);
    if (!device?.includes(':') || n === undefined) continue;
    devices++;
    if (op === 'Read') read += Number(n);
    else if (op === 'Write') write += Number(n);
  }
  return { read, write, devices };
}

/** v2 io.stat "<maj:min> rbytes=.. wbytes=.. …" lines, summed over devices. */
export function parseIoStatV2(text: string): { read: number; write: number } {
  let read = 0;
  let write = 0;
  for (const m of text.matchAll(/\brbytes=(\d+)\s+wbytes=(\d+)/g)) {
    read += Number(m[1]);
    write += Number(m[2]);
  }
  return { read, write };
}

/** Received and sent bytes over every interface but loopback (/proc/<pid>/net/dev). */
export function parseNetDev(text: string): { rx: number; tx: number } {
  let rx = 0;
  let tx = 0;
  for (const line of text.split('\n').slice(2)) {
    const [name, rest] = line.split(':');
    if (!rest || name!.trim() === 'lo') continue;
    const f = rest.trim().split(/\s+/);
    rx += Number(f[0]);
    tx += Number(f[8]);
  }
  return { rx, tx };
}

/** A memory limit file's value; "max" or the v1 "no limit" figure (about 2^63) -> 0. */
function limitOf(text: string): number {
  const v = text.trim();
  if (v === 'max') return 0;
  const n = Number(v);
  return n >= 2 ** 62 ? 0 : n;
}

/** Memory in use as `docker stats` shows it: usage without the inactive page cache. */
function memoryInUse(usage: number, stat: Map<string, number>): number {
  const inactive = stat.get('total_inactive_file') ?? stat.get('inactive_file') ?? 0;
  return inactive < usage ? usage - inactive : usage;
}

const read = (file: string) => readFileSync(file, 'utf8');
const readOrEmpty = (file: string) => {
  try {
    return read(file);
  } catch {
    return '';
  }
};

/** The files of one container, found once from its init pid; read() takes a reading. */
export class CgroupFiles {
  private constructor(
    private readonly pid: number,
    private readonly dirs: Map<string, string>,
    private readonly blkioFile: string | undefined,
    private readonly procRoot: string,
  ) {}

  /** The container's files, or undefined when they cannot be read here (another host, another pid namespace). */
  static locate(pid: number, containerId: string, mounts: CgroupMounts, procRoot = '/proc'): CgroupFiles | undefined {
    let dirs: Map<string, string>;
    try {
      const procCgroup = read(path.join(procRoot, String(pid), 'cgroup'));
      // The pid may have been reused by now: its cgroup must name the container.
      if (!procCgroup.includes(containerId)) return undefined;
      dirs = cgroupDirs(procCgroup, mounts);
    } catch {
      return undefined;
    }
    let blkioFile: string | undefined;
    const blkio = dirs.get('blkio');
    if (dirs.has('memory') && dirs.has('cpuacct')) {
      // v1: the first blkio file the kernel fills (CFQ, then BFQ, then the throttle policy's).
      for (const name of ['blkio.io_service_bytes_recursive', 'blkio.bfq.io_service_bytes_recursive', 'blkio.throttle.io_service_bytes_recursive']) {
        if (blkio && parseBlkioV1(readOrEmpty(path.join(blkio, name))).devices > 0) {
          blkioFile = path.join(blkio, name);
          break;
        }
      }
      blkioFile ??= blkio ? path.join(blkio, 'blkio.throttle.io_service_bytes_recursive') : undefined;
    } else if (!dirs.has('unified') || !readOrEmpty(path.join(dirs.get('unified')!, 'memory.current'))) {
      return undefined;
    }
    const files = new CgroupFiles(pid, dirs, blkioFile, procRoot);
    try {
      files.read(0n);
      return files;
    } catch {
      return undefined;
    }
  }

  /** Throws when a file is gone (the container stopped). */
  read(atNanos: bigint): StatsReading {
    const net = parseNetDev(read(path.join(this.procRoot, String(this.pid), 'net', 'dev')));
    const unified = this.dirs.get('unified');
    if (this.dirs.has('memory') && this.dirs.has('cpuacct')) {
      const mem = this.dirs.get('memory')!;
      const pids = this.dirs.get('pids');
      const blk = this.blkioFile ? parseBlkioV1(readOrEmpty(this.blkioFile)) : { read: 0, write: 0 };
      return {
        atNanos,
        cpuNanos: BigInt(read(path.join(this.dirs.get('cpuacct')!, 'cpuacct.usage')).trim()),
        memoryBytes: memoryInUse(Number(read(path.join(mem, 'memory.usage_in_bytes'))), keyValues(read(path.join(mem, 'memory.stat')))),
        memoryLimitBytes: limitOf(read(path.join(mem, 'memory.limit_in_bytes'))),
        netRxBytes: net.rx,
        netTxBytes: net.tx,
        blockReadBytes: blk.read,
        blockWriteBytes: blk.write,
        pids: pids ? Number(readOrEmpty(path.join(pids, 'pids.current')) || 0) : 0,
      };
    }
    const dir = unified!;
    const io = parseIoStatV2(readOrEmpty(path.join(dir, 'io.stat')));
    return {
      atNanos,
      cpuNanos: BigInt(keyValues(read(path.join(dir, 'cpu.stat'))).get('usage_usec') ?? 0) * 1000n,
      memoryBytes: memoryInUse(Number(read(path.join(dir, 'memory.current'))), keyValues(read(path.join(dir, 'memory.stat')))),
      memoryLimitBytes: limitOf(read(path.join(dir, 'memory.max'))),
      netRxBytes: net.rx,
      netTxBytes: net.tx,
      blockReadBytes: io.read,
      blockWriteBytes: io.write,
      pids: Number(readOrEmpty(path.join(dir, 'pids.current')) || 0),
    };
  }
}
