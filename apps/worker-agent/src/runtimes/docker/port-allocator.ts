import net from 'node:net';

/**
 * Host ports the agent publishes apps on (127.0.0.1, and the worker's advertise address when it has
 * one other than loopback). Kept below Linux's ephemeral range (32768–60999) so outgoing connections
 * never hold a port we are about to publish.
 */
export const HOST_PORT_RANGE = { min: 20_000, max: 32_767 } as const;

export interface PortRange {
  min: number;
  max: number;
}

/** True when nothing listens on host:port (we can bind it ourselves, then let go). */
export function isPortFreeOn(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** True when the port is free on every one of the addresses. */
export const isPortFreeOnAll =
  (hosts: readonly string[]) =>
  async (port: number): Promise<boolean> => {
    for (const host of hosts) if (!(await isPortFreeOn(host, port))) return false;
    return true;
  };


/**
 * Picks host ports: a random start in the range, then the next free one, skipping ports Berth's own
 * containers hold and ports handed out but not yet bound by a container being started.
 */
export class PortAllocator {
  private readonly reserved = new Set<number>();

  constructor(
    private readonly range: PortRange = HOST_PORT_RANGE,
    private readonly probe: (port: number) => Promise<boolean> = isPortFreeOnAll(['127.0.0.1']),
    private readonly random: () => number = Math.random,
  ) {
    if (range.min < 1 || range.max > 65_535 || range.min > range.max) throw new Error(`bad port range ${range.min}-${range.max}`);
  }

  /** Reserves and returns a free port; call release() once a container holds it (or gave up). */
  async allocate(taken: ReadonlySet<number>, maxProbes = 200): Promise<number> {
    const size = this.range.max - this.range.min + 1;
    const start = Math.floor(this.random() * size);
    for (let i = 0; i < Math.min(size, maxProbes); i++) {
      const port = this.range.min + ((start + i) % size);
      if (taken.has(port) || this.reserved.has(port)) continue;
      this.reserved.add(port);
      if (await this.probe(port)) return port;
      this.reserved.delete(port);
    }
    throw new Error(`no free host port in ${this.range.min}-${this.range.max} after ${maxProbes} tries`);
  }

  release(port: number): void {
    this.reserved.delete(port);
  }
}
