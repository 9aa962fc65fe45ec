/**
 * A max-heap of workers keyed by free memory, with lazy updates: free memory only ever goes down while
 * a plan is made, so an entry whose key is stale is too high and is fixed when it reaches the top.
 * A worker may sit in two heaps (its zone's and the all-zones one); placing through one leaves a stale
 * entry in the other, repaired on the next peek. Ties go to the worker listed first (lower index).
 */
export class WorkerHeap {
  private readonly idx: number[] = [];
  private readonly key: number[] = [];

  /** `free` is shared with the other heaps: the current free memory of each worker, by index. */
  constructor(private readonly free: Float64Array) {}

  get size(): number {
    return this.idx.length;
  }

  push(worker: number): void {
    this.idx.push(worker);
    this.key.push(this.free[worker]);
    this.siftUp(this.idx.length - 1);
  }

  /** The worker with the most free memory right now, or -1 when the heap is empty. */
  peek(): number {
    while (this.idx.length > 0) {
      const top = this.idx[0];
      const actual = this.free[top];
      if (this.key[0] === actual) return top;
      this.key[0] = actual;
      this.siftDown(0);
    }
    return -1;
  }

  private before(a: number, b: number): boolean {
    const ka = this.key[a];
    const kb = this.key[b];
    return ka > kb || (ka === kb && this.idx[a] < this.idx[b]);
  }

  private swap(a: number, b: number): void {
    const i = this.idx[a];
    this.idx[a] = this.idx[b];
    this.idx[b] = i;
    const k = this.key[a];
    this.key[a] = this.key[b];
    this.key[b] = k;
  }

  private siftUp(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(i, parent)) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private siftDown(i: number): void {
    const n = this.idx.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let best = i;
      if (l < n && this.before(l, best)) best = l;
      if (r < n && this.before(r, best)) best = r;
      if (best === i) return;
      this.swap(i, best);
      i = best;
    }
  }
}
