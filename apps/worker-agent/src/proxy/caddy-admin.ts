/** The one Caddy adapter: its admin API over HTTP (load a whole configuration, ask whether an @id is loaded). */
export class CaddyAdminError extends Error {}

export class CaddyAdmin {
  constructor(
    private readonly adminUrl: string,
    private readonly timeoutMs = 5000,
  ) {}

  /** Replaces Caddy's whole configuration; Caddy keeps its listeners and in-flight requests across it. */
  async load(config: unknown): Promise<void> {
    const res = await fetch(new URL('/load', this.adminUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(config),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    if (!res.ok) throw new CaddyAdminError(`Caddy refused the configuration (HTTP ${res.status}): ${(await res.text()).slice(0, 500)}`);
  }

  /** Whether the running configuration holds an object with this @id. */
  async has(id: string): Promise<boolean> {
    const res = await fetch(new URL(`/id/${encodeURIComponent(id)}`, this.adminUrl), { signal: AbortSignal.timeout(this.timeoutMs) });
    await res.arrayBuffer();
    if (res.ok) return true;
    if (res.status === 404 || res.status === 400) return false;
    throw new CaddyAdminError(`Caddy's admin API answered HTTP ${res.status}`);
  }
}
