/**
 * Seed 2: every BERTH_STATS_INTERVAL_MS the agent samples every app container it runs and sends the
 * snapshots in one `stats:snapshots` message. A tick that is still sampling when the next one is due
 * makes that one skip, so slow sampling never piles up.
 */
import { AGENT_MESSAGE } from '@berth/contracts';
import type { StatsSnapshotsMsg } from '@berth/contracts';
import type { Clock, Logger } from '@berth/core';
import type { Runtime, StatsTarget } from '../runtimes/runtime';
import type { TelemetrySink } from './telemetry-sink';

export interface StatsSamplerDeps {
  runtime: Pick<Runtime, 'sampleStats'>;
  sink: TelemetrySink;
  clock: Clock;
  logger: Logger;
}

export class StatsSampler {
  private busy = false;
  /** Ticks skipped because the previous one was still sampling. */
  skipped = 0;

  constructor(private readonly deps: StatsSamplerDeps) {}

  /** Samples the targets and sends one message; resolves to it (undefined when the tick was skipped). */
  async tick(targets: StatsTarget[]): Promise<StatsSnapshotsMsg | undefined> {
    if (this.busy) {
      this.skipped++;
      return undefined;
    }
    this.busy = true;
    try {
      const sampledAt = this.deps.clock.now().toISOString();
      const containers = targets.length > 0 ? await this.deps.runtime.sampleStats(targets) : [];
      const msg: StatsSnapshotsMsg = { sampledAt, containers };
      // Stale snapshots are worthless (seed 2: they expire after 45 s), so the outbox may drop them.
      this.deps.sink.send(AGENT_MESSAGE.statsSnapshots, msg, { droppable: true });
      return msg;
    } catch (err) {
      this.deps.logger.warn({ err: (err as Error).message }, 'sampling container stats failed');
      return undefined;
    } finally {
      this.busy = false;
    }
  }
}
