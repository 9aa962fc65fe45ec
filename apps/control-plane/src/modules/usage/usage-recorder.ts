import { Inject, Injectable } from '@nestjs/common';
import { USAGE_BUCKET_MS } from '@berth/core';
import { LIVE_STATS, type LiveStatsSource } from '../../common/live-stats-source';
import { retentionStart, addSample, bucketFromRow, bucketStartOf, rowOf, type AppUsageMemory } from './usage-bucket';
import { UsageRepository } from './usage.repository';

/**
 * Seed 7: every minute, one upsert per (app, 5-minute bucket) with the bucket so far. The bucket so far
 * is kept in memory between minutes (usage-bucket.ts); a replica that takes over in the middle of a
 * bucket (restart, change of leader) continues from the stored row instead of starting it again, so the
 * last write of a bucket always covers all of its minutes that were recorded.
 * Apps without live stats (seed 2: a miss) get no write for that minute.
 */
@Injectable()
export class UsageRecorder {
  private readonly memory = new Map<string, AppUsageMemory>();

  constructor(
    private readonly repo: UsageRepository,
    @Inject(LIVE_STATS) private readonly stats: LiveStatsSource,
  ) {}

  /** Resolves to the number of rows written. */
  async record(now: Date): Promise<number> {
    const bucketStart = bucketStartOf(now);
    const live: { appId: string; sample: { cpuPercent: number; memoryBytes: number; netRxBytes: number; netTxBytes: number } }[] = [];
    for (const appId of this.stats.liveAppIds()) {
      const view = this.stats.get(appId);
      if (view.live) live.push({ appId, sample: view });
    }
    const unseen = live.filter(({ appId }) => this.memory.get(appId)?.bucket?.bucketStart.getTime() !== bucketStart.getTime()).map((l) => l.appId);
    for (const row of await this.repo.bucketRows(unseen, bucketStart)) {
      this.memory.set(row.appId, { ...this.memory.get(row.appId), bucket: bucketFromRow(row) });
    }
    const rows = live.map(({ appId, sample }) => {
      const next = addSample(this.memory.get(appId) ?? {}, sample, now);
      this.memory.set(appId, next);
      return rowOf(appId, next.bucket!);
    });
    await this.repo.upsert(rows);
    this.forgetIdle(now);
    return rows.length;
  }

  /** Daily: deletes every row older than the 90-day window, and the stored days before it; resolves to the rows deleted. */
  prune(now: Date): Promise<number> {
    return this.repo.pruneBefore(retentionStart(now));
  }

  /** Apps without a sample for a whole bucket are forgotten (their counters start again as a baseline). */
  private forgetIdle(now: Date): void {
    const stale = now.getTime() - 2 * USAGE_BUCKET_MS;
    for (const [appId, m] of this.memory) if (!m.bucket || m.bucket.bucketStart.getTime() < stale) this.memory.delete(appId);
  }
}
