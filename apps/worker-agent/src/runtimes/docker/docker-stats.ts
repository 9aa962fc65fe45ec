/**
 * Sampling the containers' resource use. Two sources behind one method: the cgroup files (cheap,
 * chosen by bench/stats-sampling.bench.ts) and the Engine's stats API (one `stream=false&one-shot=true`
 * call per container), used for any container whose files this process cannot read (a remote
 * DOCKER_HOST, another pid namespace). CPU % comes from two readings of our own, so the Engine never
 * has to wait a second for its second reading.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import type Docker from 'dockerode';
import type { Clock } from '@berth/core';
import type { ContainerStatsSample } from '@berth/contracts';
import type { StatsTarget } from '../runtime';
import { CgroupFiles, parseMountInfo } from './cgroup-stats';
import type { CgroupMounts, StatsReading } from './cgroup-stats';
import { timestampNanos } from './docker-logs';

export type StatsSource = 'auto' | 'cgroup' | 'engine';

/**
 * How often a container is inspected again for its Engine restart count. It is inspected again as soon
 * as its files cannot be read (it stopped or was restarted) or its exit was seen (forget), so this can
 * be rare.
 */
const INSPECT_REFRESH_MS = 10 * 60_000;
/**
 * Engine stats calls in flight at once. Each call waits for the Engine's stats collector, which
 * reads every container once a second: measured on Docker 20.10, a one-shot call takes up to 1 s
 * whatever it costs, so 100 containers 8 at a time took 14 s. Calls mostly wait; run many at once.
 */
const ENGINE_CONCURRENCY = 50;

interface Known {
  pid: number;
  restartCount: number;
  running: boolean;
  inspectedAt: number;
  files?: CgroupFiles;
  previous?: StatsReading;
}

interface EngineStats {
  read?: string;
  cpu_stats?: { cpu_usage?: { total_usage?: number } };
  memory_stats?: { usage?: number; limit?: number; stats?: Record<string, number> };
  networks?: Record<string, { rx_bytes?: number; tx_bytes?: number }>;
  blkio_stats?: { io_service_bytes_recursive?: { op: string; value: number }[] | null };
  pids_stats?: { current?: number };
}

/** A reading from one Engine stats answer (`one-shot`: no precpu, no second reading). */
export function readingFromEngine(s: EngineStats, fallbackAt: bigint): StatsReading {
  const mem = s.memory_stats ?? {};
  const usage = mem.usage ?? 0;
  const inactive = mem.stats?.total_inactive_file ?? mem.stats?.inactive_file ?? 0;
  let rx = 0;
  let tx = 0;
  for (const n of Object.values(s.networks ?? {})) {
    rx += n.rx_bytes ?? 0;
    tx += n.tx_bytes ?? 0;
  }
  let blockRead = 0;
  let blockWrite = 0;
  for (const e of s.blkio_stats?.io_service_bytes_recursive ?? []) {
    if (e.op.toLowerCase() === 'read') blockRead += e.value;
    else if (e.op.toLowerCase() === 'write') blockWrite += e.value;
  }
  let at = fallbackAt;
  try {
    if (s.read && !s.read.startsWith('0001-')) at = timestampNanos(s.read.replace(/([+-]00:00)$/, 'Z'));
  } catch {
    /* an odd stamp: our clock's */
  }
  return {
    atNanos: at,
    cpuNanos: BigInt(s.cpu_stats?.cpu_usage?.total_usage ?? 0),
    memoryBytes: inactive < usage ? usage - inactive : usage,
    memoryLimitBytes: mem.limit ?? 0,
    netRxBytes: rx,
    netTxBytes: tx,
    blockReadBytes: blockRead,
    blockWriteBytes: blockWrite,
    pids: s.pids_stats?.current ?? 0,
  };
}

/** Percent of one core between two readings of the same container (0 without a usable previous one). */
export function cpuPercent(previous: StatsReading | undefined, current: StatsReading): number {
  if (!previous) return 0;
  const wall = current.atNanos - previous.atNanos;
  const cpu = current.cpuNanos - previous.cpuNanos;
  if (wall <= 0n || cpu < 0n) return 0;
  return Math.round((Number(cpu) / Number(wall)) * 100 * 100) / 100;
}

function statusOf(err: unknown): number | undefined {
  return (err as { statusCode?: number })?.statusCode;
}

export interface DockerStatsSamplerOptions {
  docker: Docker;
  clock: Clock;
  source?: StatsSource;
  /** For tests: where mountinfo and /proc live. */
  procRoot?: string;
  hostMemoryBytes?: number;
  engineConcurrency?: number;
}

export class DockerStatsSampler {
  private readonly known = new Map<string, Known>();
  private mounts: CgroupMounts | undefined;
  private readonly source: StatsSource;
  private readonly procRoot: string;
  private readonly hostMemory: number;

  constructor(private readonly options: DockerStatsSamplerOptions) {
    this.source = options.source ?? 'auto';
    this.procRoot = options.procRoot ?? '/proc';
    this.hostMemory = options.hostMemoryBytes ?? os.totalmem();
  }

  /** How many of the known containers are read from their cgroup files (the rest: the Engine). */
  get cgroupReadable(): number {
    return [...this.known.values()].filter((k) => k.files).length;
  }

  /** The container exited: inspect it again at its next sample (restart count, new process). */
  forget(containerId: string): void {
    const known = this.known.get(containerId);
    if (known) known.inspectedAt = -Infinity;
  }

  async sample(targets: StatsTarget[]): Promise<ContainerStatsSample[]> {
    const wanted = new Set(targets.map((t) => t.containerId));
    for (const id of this.known.keys()) if (!wanted.has(id)) this.known.delete(id);
    const out: (ContainerStatsSample | undefined)[] = new Array(targets.length);
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < targets.length; i = next++) out[i] = await this.sampleOne(targets[i]!).catch(() => undefined);
    };
    await Promise.all(Array.from({ length: Math.min(this.options.engineConcurrency ?? ENGINE_CONCURRENCY, targets.length) }, worker));
    return out.filter((s): s is ContainerStatsSample => s !== undefined);
  }

  private nowNanos(): bigint {
    return BigInt(this.options.clock.now().getTime()) * 1_000_000n;
  }

  private async sampleOne(target: StatsTarget): Promise<ContainerStatsSample | undefined> {
    let known = await this.inspected(target.containerId, false);
    if (!known?.running) return undefined;
    let reading: StatsReading | undefined;
    if (known.files) {
      try {
        reading = known.files.read(this.nowNanos());
      } catch {
        // Files gone: stopped, or restarted with a new pid. Look again.
        known = await this.inspected(target.containerId, true);
        if (!known?.running) return undefined;
        reading = known.files?.read(this.nowNanos());
      }
    }
    if (!reading) {
      if (this.source === 'cgroup') return undefined;
      try {
        const stats = (await this.options.docker.getContainer(target.containerId).stats({ stream: false, 'one-shot': true })) as unknown as EngineStats;
        reading = readingFromEngine(stats, this.nowNanos());
      } catch (err) {
        if (statusOf(err) === 404) this.known.delete(target.containerId);
        return undefined;
      }
    }
    const cpu = cpuPercent(known.previous, reading);
    known.previous = reading;
    return {
      containerId: target.containerId,
      appId: target.appId,
      deploymentId: target.deploymentId,
      cpuPercent: cpu,
      memoryBytes: reading.memoryBytes,
      memoryLimitBytes: reading.memoryLimitBytes || this.hostMemory,
      netRxBytes: reading.netRxBytes,
      netTxBytes: reading.netTxBytes,
      blockReadBytes: reading.blockReadBytes,
      blockWriteBytes: reading.blockWriteBytes,
      pids: reading.pids,
      restarts: target.restarts ?? known.restartCount,
    };
  }

  /** What we know of the container, inspected again when stale (or forced); undefined when it is gone. */
  private async inspected(containerId: string, force: boolean): Promise<Known | undefined> {
    const now = this.options.clock.now().getTime();
    const known = this.known.get(containerId);
    // One that was not running (waiting for its restart policy) is looked at again each time.
    if (known?.running && !force && now - known.inspectedAt < INSPECT_REFRESH_MS) return known;
    let info: Docker.ContainerInspectInfo;
    try {
      info = await this.options.docker.getContainer(containerId).inspect();
    } catch (err) {
      if (statusOf(err) === 404) this.known.delete(containerId);
      return undefined;
    }
    const pid = info.State.Pid;
    // While it waits to be restarted the Engine still says Running, with no process.
    const fresh: Known = { pid, restartCount: info.RestartCount ?? 0, running: info.State.Running && !info.State.Restarting, inspectedAt: now };
    // Same process as before: keep its files and its last reading (CPU % needs it).
    if (known && known.pid === pid) {
      fresh.files = known.files;
      fresh.previous = known.previous;
    }
    if (!fresh.files && this.source !== 'engine' && fresh.running && pid > 0) fresh.files = CgroupFiles.locate(pid, info.Id, this.cgroupMounts(), this.procRoot);
    this.known.set(containerId, fresh);
    return fresh;
  }

  private cgroupMounts(): CgroupMounts {
    if (!this.mounts) {
      try {
        this.mounts = parseMountInfo(readFileSync(`${this.procRoot}/self/mountinfo`, 'utf8'));
      } catch {
        this.mounts = { v1: new Map() };
      }
    }
    return this.mounts;
  }
}
