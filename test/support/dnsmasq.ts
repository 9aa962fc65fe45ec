/**
 * A real DNS server for tests: Debian's dnsmasq on 127.0.0.1 and a free port, answering only from the
 * TXT records it is given for one local zone (NXDOMAIN for other names in it). setRecords() restarts it
 * on the same port with new records (dnsmasq re-reads command-line records only at start).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Resolver } from 'node:dns/promises';
import { existsSync } from 'node:fs';
import { eventually, freePort } from './processes';

export const DNSMASQ = '/usr/sbin/dnsmasq';

export function hasDnsmasq(): boolean {
  return existsSync(DNSMASQ);
}

export interface DnsServer {
  /** host:port, as BERTH_DNS_SERVERS takes it. */
  address: string;
  setRecords(records: Record<string, string[]>): Promise<void>;
  stop(): Promise<void>;
}

export async function startDnsmasq(zone: string, records: Record<string, string[]> = {}): Promise<DnsServer> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  let output = '';

  const stop = () =>
    new Promise<void>((resolve) => {
      const c = child;
      child = undefined;
      if (!c || c.exitCode !== null || c.signalCode !== null) return resolve();
      c.once('exit', () => resolve());
      c.kill('SIGTERM');
    });

  const start = async (recs: Record<string, string[]>) => {
    const txt = Object.entries(recs).flatMap(([name, values]) => values.map((v) => `--txt-record=${name},${v}`));
    output = '';
    child = spawn(
      DNSMASQ,
      ['--no-daemon', '--conf-file=/dev/null', '--pid-file=', `--port=${port}`, '--listen-address=127.0.0.1', '--bind-interfaces', '--no-resolv', '--no-hosts', `--local=/${zone}/`, '--cache-size=0', ...txt],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    const resolver = new Resolver({ timeout: 300, tries: 1 });
    resolver.setServers([`127.0.0.1:${port}`]);
    await eventually(`dnsmasq to answer on port ${port} (${output})`, async () => {
      try {
        await resolver.resolveTxt(`ready-probe.${zone}`);
        return true;
      } catch (err) {
        return (err as NodeJS.ErrnoException).code === 'ENOTFOUND' ? true : undefined;
      }
    }, 10_000, 50);
  };

  await start(records);
  return {
    address: `127.0.0.1:${port}`,
    async setRecords(recs) {
      await stop();
      await start(recs);
    },
    stop,
  };
}
