/**
 * Log shipping throughput: one container prints LINES lines as fast as it can while the agent's log
 * shipper follows it (Engine logs API -> demux -> split -> sanitise -> number -> batch). Lines per
 * second shipped, and the agent's CPU per 100k lines.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { noopLogger, systemClock } from '@berth/core';
import pino from 'pino';
import { DockerRuntime } from '../apps/worker-agent/src/runtimes/docker/docker-runtime';
import { LogCursorStore } from '../apps/worker-agent/src/telemetry/log-cursor-store';
import { LogShipper } from '../apps/worker-agent/src/telemetry/log-shipper';
import { BUSYBOX_IMAGE, docker, ensureBusyboxImage, removeContainersByLabel } from '../test/support/docker';
import type { BenchRow } from './support/table';

const LINES = Number(process.env.BERTH_BENCH_LOG_LINES ?? 100_000);
const LABEL = 'berth.bench.log-follow';

export async function run(): Promise<BenchRow[]> {
  await ensureBusyboxImage();
  const run = randomBytes(4).toString('hex');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'berth-bench-cursors-'));
  try {
    const c = await docker.createContainer({
      Image: BUSYBOX_IMAGE,
      Cmd: ['sh', '-c', `i=0; while [ $i -lt ${LINES} ]; do i=$((i+1)); echo "\u001b[32mINFO\u001b[0m request $i served in 3 ms"; done; sleep 600`],
      Labels: { [LABEL]: run },
      HostConfig: { Init: true },
    });
    let shipped = 0;
    let batches = 0;
    let done!: () => void;
    const all = new Promise<void>((r) => (done = r));
    const sink = {
      send(_kind: string, msg: unknown) {
        batches++;
        shipped += (msg as { lines: unknown[] }).lines.length;
        if (shipped >= LINES) done();
      },
    };
    const shipper = new LogShipper({ runtime: new DockerRuntime({ docker, logger: pino({ level: 'silent' }) }), sink, clock: systemClock, cursors: new LogCursorStore(dir), logger: noopLogger });
    const cpu = process.cpuUsage();
    const started = performance.now();
    await c.start();
    await shipper.follow({ containerId: c.id, appId: 'bench', deploymentId: 'bench' });
    await all;
    const seconds = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    await shipper.stop();
    const b = `log follow, ${LINES / 1000}k lines from one container`;
    return [
      { benchmark: b, metric: 'lines shipped per second', value: LINES / seconds, unit: 'lines/s', note: `${batches} logs:lines batches` },
      { benchmark: b, metric: 'agent CPU per 100k lines', value: ((used.user + used.system) / 1e6) * (100_000 / LINES), unit: 's' },
    ];
  } finally {
    await removeContainersByLabel(`${LABEL}=${run}`);
    await rm(dir, { recursive: true, force: true });
  }
}
