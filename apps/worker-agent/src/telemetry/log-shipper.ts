/**
 * Ships the runtime logs of every app container the agent runs: follows each one from where the
 * last run of the agent stopped (its persisted cursor), stops following when it is removed.
 * sync() reconciles with the runtime's list, so a container started, adopted, stopped or removed
 * is picked up by the next call, whoever started it.
 */
import type { Clock, Logger, TimerHandle } from '@berth/core';
import type { LogFollower, Runtime } from '../runtimes/runtime';
import { ContainerLog } from './container-log';
import type { ContainerLogOptions, ContainerRef, DropCounters } from './container-log';
import { DropTally } from './drop-tally';
import type { LogCursor, LogCursorStore } from './log-cursor-store';
import type { TelemetrySink } from './telemetry-sink';

export interface LogShipperDeps {
  runtime: Pick<Runtime, 'followLogs'>;
  sink: TelemetrySink;
  clock: Clock;
  cursors: LogCursorStore;
  logger: Logger;
}

export interface LogShipperOptions {
  containerLog?: Partial<ContainerLogOptions>;
  /** A container's cursor is written at most this often while it logs (and at once when it stops). */
  cursorSaveIntervalMs?: number;
}

/** A container as sync() needs it: who it belongs to, and whether it runs. */
export interface ShippedContainer extends ContainerRef {
  running: boolean;
}

interface Following {
  log: ContainerLog;
  follower: LogFollower;
  /** Settles once the follower ended and its last lines went out. */
  finished: Promise<void>;
  /** The cursor not yet written, and the timer that will write it. */
  unsaved?: LogCursor;
  saveTimer?: TimerHandle;
  lastSaveAt: number;
}

export class LogShipper {
  private readonly following = new Map<string, Following>();
  /** Containers being set up (their cursor is loading). */
  private readonly starting = new Map<string, Promise<void>>();
  /** Stopped containers read to the end in this run of the agent. */
  private readonly drained = new Set<string>();
  private swept = false;
  private stopping = false;
  readonly counters: DropCounters & { shippedLines: number } = { droppedLines: 0, droppedBatches: 0, shippedLines: 0 };
  /** Dropped lines by app, until a heartbeat told the control plane of them. */
  readonly drops = new DropTally();
  private readonly saveIntervalMs: number;

  constructor(
    private readonly deps: LogShipperDeps,
    private readonly options: LogShipperOptions = {},
  ) {
    this.saveIntervalMs = options.cursorSaveIntervalMs ?? 1_000;
  }

  /** Containers followed right now. */
  get followed(): string[] {
    return [...this.following.keys()];
  }

  /** Follows what runs (or stopped with unread output), forgets what is gone. */
  async sync(containers: ShippedContainer[]): Promise<void> {
    if (this.stopping) return;
    const present = new Map(containers.map((c) => [c.containerId, c]));
    const gone = [...this.following.keys()].filter((id) => !present.has(id));
    await Promise.all(gone.map((id) => this.unfollow(id, { forget: true })));
    if (!this.swept) {
      this.swept = true;
      for (const id of await this.deps.cursors.list()) if (!present.has(id)) await this.deps.cursors.remove(id);
    }
    for (const c of containers) {
      if (c.running) this.drained.delete(c.containerId);
      if (c.running || !this.drained.has(c.containerId)) await this.follow(c);
    }
  }

  /** Starts following (no-op when already followed). */
  follow(ref: ContainerRef): Promise<void> {
    const id = ref.containerId;
    if (this.stopping || this.following.has(id)) return Promise.resolve();
    const started = this.starting.get(id);
    if (started) return started;
    const start = this.start(ref).finally(() => this.starting.delete(id));
    this.starting.set(id, start);
    return start;
  }

  /** Stops following; with forget (the container was removed), its cursor goes too. */
  async unfollow(containerId: string, opts: { forget?: boolean } = {}): Promise<void> {
    await this.starting.get(containerId);
    const f = this.following.get(containerId);
    if (f) {
      f.follower.stop();
      await f.finished;
    }
    if (opts.forget) {
      this.drained.delete(containerId);
      await this.deps.cursors.remove(containerId);
    }
  }

  /** Stops every follower, sends the whole lines read so far and writes every cursor. Containers keep running. */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all([...this.starting.values()]);
    await Promise.all([...this.following.keys()].map((id) => this.unfollow(id)));
    await this.deps.cursors.settled();
  }

  private async start(ref: ContainerRef): Promise<void> {
    const id = ref.containerId;
    const cursor = await this.deps.cursors.load(id);
    if (this.stopping) return;
    const entry = { lastSaveAt: -Infinity } as Following;
    entry.log = new ContainerLog(
      ref,
      cursor,
      {
        sink: {
          send: (kind, msg, opts) => {
            this.counters.shippedLines += (msg as { lines: unknown[] }).lines.length;
            this.deps.sink.send(kind, msg, opts);
          },
          whenWritable: () => this.deps.sink.whenWritable?.(),
          idle: () => this.deps.sink.idle?.() ?? false,
        },
        clock: this.deps.clock,
        counters: this.counters,
        onCursor: (c) => this.cursorMoved(id, entry, c),
        onDrop: (c, lines) => {
          this.drops.add(c.appId, lines);
          this.deps.logger.warn({ containerId: c.containerId, appId: c.appId, lines }, 'log lines dropped: the outbox is full');
        },
      },
      this.options.containerLog,
    );
    entry.follower = this.deps.runtime.followLogs(id, { since: entry.log.since }, (chunks) => entry.log.accept(chunks));
    entry.finished = entry.follower.done.then(async (end) => {
      // Output that ended is complete: its last unterminated line is a line. A follower we stopped
      // leaves half lines unsent; the next run reads them again from the cursor.
      if (end.reason === 'ended') {
        entry.log.finish();
        this.drained.add(id);
      } else {
        entry.log.flush();
        if (end.reason === 'error') this.deps.logger.warn({ containerId: id, err: end.error.message }, 'following a container log failed; retrying at the next sync');
      }
      entry.log.close();
      this.deps.clock.clearTimeout(entry.saveTimer);
      if (entry.unsaved) await this.save(id, entry);
      if (this.following.get(id) === entry) this.following.delete(id);
    });
    this.following.set(id, entry);
    this.deps.logger.debug({ containerId: id, since: entry.log.since, seq: entry.log.lastSeq }, 'following container log');
  }

  private cursorMoved(id: string, entry: Following, cursor: LogCursor): void {
    entry.unsaved = cursor;
    if (entry.saveTimer) return;
    const wait = Math.max(0, entry.lastSaveAt + this.saveIntervalMs - this.deps.clock.now().getTime());
    entry.saveTimer = this.deps.clock.setTimeout(() => {
      entry.saveTimer = undefined;
      void this.save(id, entry);
    }, wait);
  }

  private async save(id: string, entry: Following): Promise<void> {
    const cursor = entry.unsaved;
    if (!cursor) return;
    entry.unsaved = undefined;
    entry.lastSaveAt = this.deps.clock.now().getTime();
    await this.deps.cursors.save(id, cursor).catch((err: unknown) => this.deps.logger.warn({ containerId: id, err: (err as Error).message }, 'could not store a log cursor'));
  }
}
