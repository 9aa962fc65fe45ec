/**
 * Seed section 2: "Snapshots live in process memory and expire after 45 s; misses return live=false."
 * The latest snapshot of each app's current container, kept until STATS_SNAPSHOT_TTL_MS after it was
 * sampled (judged with the injected clock), and `subscribeStats(appId)`: a stream of the app's views
 * plus a cancel that releases everything it held. Plain TypeScript: no framework, no database.
 */
import { EventEmitter } from 'node:events';
import type { AppStatsView, ContainerStatsSample } from '@berth/contracts';
import { STATS_SNAPSHOT_TTL_MS, type Clock, type TimerHandle } from '@berth/core';
import type { LiveStatsSource } from '../../common/live-stats-source';

export type LiveStatsView = Extract<AppStatsView, { live: true }>;

/** A sample as the store keeps it: the app's view and the deployment it came from. */
export interface StatsSnapshot {
  appId: string;
  deploymentId: string;
  view: LiveStatsView;
}

export interface StatsSubscription {
  stream: AsyncIterable<AppStatsView>;
  cancel(): void;
}

interface Entry {
  snapshot: StatsSnapshot;
  sampledAtMs: number;
  expiry: TimerHandle;
}

const CHANGED = Symbol('changed');

export function toLiveView(sample: ContainerStatsSample, sampledAt: string): LiveStatsView {
  return {
    live: true,
    sampledAt,
    cpuPercent: sample.cpuPercent,
    memoryBytes: sample.memoryBytes,
    memoryLimitBytes: sample.memoryLimitBytes,
    netRxBytes: sample.netRxBytes,
    netTxBytes: sample.netTxBytes,
    blockReadBytes: sample.blockReadBytes,
    blockWriteBytes: sample.blockWriteBytes,
    pids: sample.pids,
    restarts: sample.restarts,
  };
}

export class StatsStore implements LiveStatsSource {
  private readonly entries = new Map<string, Entry>();
  private readonly events = new EventEmitter();

  constructor(
    private readonly clock: Clock,
    private readonly ttlMs = STATS_SNAPSHOT_TTL_MS,
  ) {
    this.events.setMaxListeners(0);
  }

  /**
   * Keeps a snapshot unless it is already expired or older than the one kept for the app's same
   * deployment. Whether its deployment is the app's current one is the caller's to decide.
   */
  put(snapshot: StatsSnapshot): boolean {
    const sampledAtMs = Date.parse(snapshot.view.sampledAt);
    const remaining = sampledAtMs + this.ttlMs - this.clock.now().getTime();
    if (!Number.isFinite(sampledAtMs) || remaining <= 0) return false;
    const previous = this.entries.get(snapshot.appId);
    if (previous && previous.snapshot.deploymentId === snapshot.deploymentId && previous.sampledAtMs > sampledAtMs) return false;
    if (previous) this.clock.clearTimeout(previous.expiry);
    const expiry = this.clock.setTimeout(() => this.expire(snapshot.appId, sampledAtMs), remaining);
    this.entries.set(snapshot.appId, { snapshot, sampledAtMs, expiry });
    this.emit(snapshot.appId, snapshot.view);
    return true;
  }

  get(appId: string): AppStatsView {
    const entry = this.entries.get(appId);
    if (!entry || entry.sampledAtMs + this.ttlMs <= this.clock.now().getTime()) return { live: false };
    return entry.snapshot.view;
  }

  /** The live snapshot of every app that has one. */
  live(): StatsSnapshot[] {
    const now = this.clock.now().getTime();
    return [...this.entries.values()].filter((e) => e.sampledAtMs + this.ttlMs > now).map((e) => e.snapshot);
  }

  /** Apps with a live snapshot now (LiveStatsSource, for the alert poller and usage recorder). */
  liveAppIds(): string[] {
    return this.live().map((s) => s.appId);
  }

  /** Drops an app's snapshot (the app was deleted or stopped); its subscribers see live=false. */
  forget(appId: string): void {
    const entry = this.entries.get(appId);
    if (!entry) return;
    this.clock.clearTimeout(entry.expiry);
    this.entries.delete(appId);
    this.emit(appId, { live: false });
  }

  /**
   * The seed's "channel + cancel": every later view of the app (a new snapshot, or live=false when it
   * expired). A slow reader gets the newest view, not a backlog. cancel() ends the stream and removes
   * its listener.
   */
  subscribeStats(appId: string): StatsSubscription {
    let pending: AppStatsView | undefined;
    let wake: (() => void) | undefined;
    let done = false;
    const listener = (view: AppStatsView) => {
      pending = view;
      wake?.();
    };
    this.events.on(appId, listener);
    const cancel = () => {
      if (done) return;
      done = true;
      this.events.off(appId, listener);
      wake?.();
    };
    const stream: AsyncIterable<AppStatsView> = {
      [Symbol.asyncIterator]: () => ({
        next: async (): Promise<IteratorResult<AppStatsView>> => {
          while (!done && pending === undefined) await new Promise<void>((resolve) => (wake = resolve));
          wake = undefined;
          if (done) return { done: true, value: undefined };
          const value = pending!;
          pending = undefined;
          return { done: false, value };
        },
        return: async (): Promise<IteratorResult<AppStatsView>> => {
          cancel();
          return { done: true, value: undefined };
        },
      }),
    };
    return { stream, cancel };
  }

  /** Called after any app's view changed (for aggregates); returns the function that stops it. */
  onChange(listener: (appId: string, view: AppStatsView) => void): () => void {
    this.events.on(CHANGED, listener);
    return () => void this.events.off(CHANGED, listener);
  }

  listenerCount(appId?: string): number {
    return appId === undefined ? this.events.eventNames().reduce((n, e) => n + this.events.listenerCount(e), 0) : this.events.listenerCount(appId);
  }

  /** Clears every expiry timer (at shutdown). */
  close(): void {
    for (const entry of this.entries.values()) this.clock.clearTimeout(entry.expiry);
    this.entries.clear();
  }

  private expire(appId: string, sampledAtMs: number): void {
    const entry = this.entries.get(appId);
    if (!entry || entry.sampledAtMs !== sampledAtMs) return;
    this.entries.delete(appId);
    this.emit(appId, { live: false });
  }

  private emit(appId: string, view: AppStatsView): void {
    this.events.emit(appId, view);
    this.events.emit(CHANGED, appId, view);
  }
}
