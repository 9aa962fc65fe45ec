import type { StatsSnapshotsMsg } from '@berth/contracts';
import { isoDate, list, message, number, object, text, uuid, int } from '../../common/checks';

/** Most containers one `stats:snapshots` message may list (one worker's containers). */
export const MAX_CONTAINERS_PER_SNAPSHOT = 5_000;
const BYTES = number(0, Number.MAX_SAFE_INTEGER);

export const parseStatsSnapshots = message<StatsSnapshotsMsg>(
  'stats:snapshots',
  object({
    sampledAt: isoDate,
    containers: list(
      object({
        containerId: text(200),
        appId: uuid,
        deploymentId: uuid,
        cpuPercent: number(0, 100_000),
        memoryBytes: BYTES,
        memoryLimitBytes: BYTES,
        netRxBytes: BYTES,
        netTxBytes: BYTES,
        blockReadBytes: BYTES,
        blockWriteBytes: BYTES,
        pids: int(0, 10_000_000),
        restarts: int(0, 10_000_000),
      }),
      MAX_CONTAINERS_PER_SNAPSHOT,
    ),
  }),
);
