/**
 * The one DNS adapter: TXT lookups through node:dns's Resolver, pointed at BERTH_DNS_SERVERS (so tests
 * use a real DNS server on 127.0.0.1) or the system's resolvers when none are configured.
 */
import { Resolver } from 'node:dns/promises';
import type { TxtLookup } from './domains.decider';

/** Answers that say the record does not exist (as opposed to a failure to ask). */
const MISSING: Record<string, string> = {
  ENOTFOUND: 'the name does not exist (NXDOMAIN)',
  ENODATA: 'the name has no TXT record',
};

export interface TxtResolver {
  lookupTxt(name: string): Promise<TxtLookup>;
}

export class DnsTxtResolver implements TxtResolver {
  constructor(
    private readonly servers: readonly string[],
    private readonly timeoutMs = 3000,
  ) {}

  async lookupTxt(name: string): Promise<TxtLookup> {
    // A Resolver per lookup: cancel() and setServers() on a shared one would touch lookups in flight.
    const resolver = new Resolver({ timeout: this.timeoutMs, tries: 2 });
    if (this.servers.length > 0) resolver.setServers([...this.servers]);
    try {
      const records = await resolver.resolveTxt(name);
      // A TXT record may be split in 255-byte strings; its value is their concatenation.
      return { kind: 'found', values: records.map((chunks) => chunks.join('')) };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? '';
      if (code in MISSING) return { kind: 'missing', detail: MISSING[code] };
      return { kind: 'error', detail: `${code || 'DNS error'}: ${(err as Error).message}` };
    }
  }
}
