/**
 * Rendered bodies kept in memory until the routes change. A hit costs no I/O; concurrent misses for
 * one key share one render. invalidate() drops everything, renders in flight included (their callers
 * still get them), so a body read from older tables is never served after the change was noticed.
 */
export class RenderCache<V> {
  private readonly entries = new Map<string, Promise<V>>();
  /** The entries whose render has finished, readable without awaiting. */
  private readonly settled = new Map<string, V>();

  constructor(private readonly maxEntries = 10_000) {}

  /** The routes changed: every cached body is stale. */
  invalidate(): void {
    this.entries.clear();
    this.settled.clear();
  }

  /** The value for `key` if it is rendered already and still current; never renders. */
  peek(key: string): V | undefined {
    return this.settled.get(key);
  }

  get(key: string, render: () => Promise<V>): Promise<V> {
    const hit = this.entries.get(key);
    if (hit) return hit;
    const value = render();
    if (this.entries.size >= this.maxEntries) this.invalidate();
    this.entries.set(key, value);
    value.then(
      (v) => {
        if (this.entries.get(key) === value) this.settled.set(key, v);
      },
      () => {
        if (this.entries.get(key) === value) this.entries.delete(key);
      },
    );
    return value;
  }
}
