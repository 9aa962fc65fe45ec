import { Counter, register } from 'prom-client';

const NAME = 'berth_log_lines_dropped_total';

/**
 * Runtime log lines agents dropped because their buffer (BERTH_LOG_BUFFER_BYTES) was full while the
 * control plane was unreachable, by worker and app, as the agents report them in heartbeats. Kept by
 * this process: it starts from 0 when the control plane starts (a counter reset, as Prometheus reads it),
 * and an agent's restart does not reset it.
 */
export const logLinesDropped: Counter<'worker_id' | 'app_id'> =
  (register.getSingleMetric(NAME) as Counter<'worker_id' | 'app_id'> | undefined) ??
  new Counter({
    name: NAME,
    help: 'Runtime log lines agents dropped because their buffer (BERTH_LOG_BUFFER_BYTES) was full, by worker and app',
    labelNames: ['worker_id', 'app_id'],
  });
