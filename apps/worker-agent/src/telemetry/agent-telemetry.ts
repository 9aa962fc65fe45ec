/**
 * The agent's telemetry loop: every BERTH_STATS_INTERVAL_MS it lists the worker's app containers
 * once, samples the running ones (one `stats:snapshots` message) and reconciles the log shipper
 * (containers started or adopted are followed, removed ones forgotten). containerStarted() lets the
 * job path start following a new container without waiting for the tick.
 */
import path from 'node:path';
import type { Clock, Logger, TimerHandle } from '@berth/core';
import type { Runtime, RuntimeContainer } from '../runtimes/runtime';
import type { ContainerRef } from './container-log';
import { LogCursorStore } from './log-cursor-store';
import { LogShipper } from './log-shipper';
import type { LogShipperOptions } from './log-shipper';
import { StatsSampler } from './stats-sampler';
import type { TelemetrySink } from './telemetry-sink';

export interface AgentTelemetryOptions {
  runtime: Runtime;
  sink: TelemetrySink;
  clock: Clock;
  logger: Logger;
  /** The agent's work dir: log cursors live in <workDir>/log-cursors. */
  workDir: string;
  /** The worker whose containers these are (known after the hello reply). */
  workerId: () => string | undefined;
  statsIntervalMs: number;
  /** The agent's own restart counts, by container; unset: the runtime's. */
  restarts?: (containerId: string) => number | undefined;
  shipper?: LogShipperOptions;
}

export class AgentTelemetry {
  readonly shipper: LogShipper;
  readonly sampler: StatsSampler;
  private timer: TimerHandle | undefined;
  private current: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly options: AgentTelemetryOptions) {
    const log = options.logger;
    this.shipper = new LogShipper(
      { runtime: options.runtime, sink: options.sink, clock: options.clock, cursors: new LogCursorStore(path.join(options.workDir, 'log-cursors')), logger: log },
      options.shipper,
    );
    this.sampler = new StatsSampler({ runtime: options.runtime, sink: options.sink, clock: options.clock, logger: log });
  }

  /** Runs a first tick now (adopted containers are followed at once), then one every interval. */
  start(): void {
    if (this.timer || this.stopped) return;
    void this.tick();
    this.timer = this.options.clock.setInterval(() => void this.tick(), this.options.statsIntervalMs);
  }

  /** One tick: list, sample, reconcile. Resolves when both are done. */
  tick(): Promise<void> {
    if (this.current) return this.current;
    const run = this.runTick().finally(() => (this.current = undefined));
    this.current = run;
    return run;
  }

  /** Resolves once the tick in progress (if any) is done. */
  async idle(): Promise<void> {
    await this.current;
  }

  /** A container the agent just started: follow its log now. */
  containerStarted(ref: ContainerRef): void {
    void this.shipper.follow(ref);
  }

  /** The counters a person (or /metrics) needs: dropped log lines and batches, shipped lines. */
  get counters(): { droppedLines: number; droppedBatches: number; shippedLines: number; skippedStatsTicks: number } {
    return { ...this.shipper.counters, skippedStatsTicks: this.sampler.skipped };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.options.clock.clearInterval(this.timer);
    this.timer = undefined;
    await this.current;
    await this.shipper.stop();
  }

  private async runTick(): Promise<void> {
    const workerId = this.options.workerId();
    if (!workerId || this.stopped) return;
    let containers: RuntimeContainer[];
    try {
      containers = await this.options.runtime.list(workerId);
    } catch (err) {
      this.options.logger.warn({ err: (err as Error).message }, 'could not list containers for telemetry');
      return;
    }
    const refs = containers.filter((c) => c.appId).map((c) => ({ containerId: c.containerId, appId: c.appId, deploymentId: c.deploymentId, running: c.running }));
    const targets = refs.filter((c) => c.running).map((c) => ({ ...c, restarts: this.options.restarts?.(c.containerId) }));
    await Promise.all([this.sampler.tick(targets), this.shipper.sync(refs)]);
  }
}
