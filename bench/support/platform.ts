/** A running Berth for benchmarks: the same harness as the end-to-end tests, on a freshly migrated database. */
import { readFileSync } from 'node:fs';
import { startBerth, type Berth } from '../../test/support/berth';
import { ensureBusyboxImage } from '../../test/support/docker';

export type Platform = Berth;

/** `nodeFlags`: V8 flags for both processes instead of scripts/node-flags.json. */
export async function startPlatform(agentEnv: Record<string, string> = {}, nodeFlags?: readonly string[]): Promise<Platform> {
  await ensureBusyboxImage();
  return startBerth({ agentEnv, logLevel: 'warn', database: 'migrate', nodeFlags });
}

/** Resident set size of a process, in MiB, from /proc. */
export function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) / 1024 : NaN;
}
