/**
 * Traefik-like pollers in a process of their own (forked by the routing benchmark), so the client's
 * work never shares an event loop with the control plane or the benchmark. Each poller is one Traefik
 * instance: its own keep-alive connection, a fixed ticker, and a phase of its own (spread evenly over
 * the interval, as independently started instances would be). Latency is measured here, client-side.
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';

export interface PollersJob {
  port: number;
  token: string;
  /** One poller per path, sending If-None-Match with the ETag at the same index. */
  paths: string[];
  etags: string[];
  /** 'paced': each poller every intervalMs; 'burst': each poller back to back. */
  mode: 'paced' | 'burst';
  intervalMs: number;
  durationMs: number;
}

export interface PollersResult {
  /** Client-side latencies in ms (request sent -> response ended), sorted. */
  latencies: number[];
  /**
   * Paced mode: how late each poll was sent after it was due, in ms, sorted. A large value means the
   * pollers' own process (or the whole machine) stalled: not the control plane's doing.
   */
  lateness: number[];
  notModified: number;
  /** Requests that were not 304 (or failed). */
  others: number;
}

function poll(agent: http.Agent, job: PollersJob, i: number): Promise<[number, number]> {
  const started = performance.now();
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port: job.port, path: job.paths[i], agent, headers: { authorization: `Bearer ${job.token}`, 'if-none-match': job.etags[i] } }, (res) => {
      res.resume();
      res.on('end', () => resolve([res.statusCode ?? 0, performance.now() - started]));
    });
    req.on('error', () => resolve([0, performance.now() - started]));
  });
}

export async function runPollers(job: PollersJob): Promise<PollersResult> {
  const latencies: number[] = [];
  const lateness: number[] = [];
  let notModified = 0;
  let others = 0;
  const agents = job.paths.map(() => new http.Agent({ keepAlive: true, maxSockets: 1 }));
  const record = ([status, ms]: [number, number]) => {
    latencies.push(ms);
    if (status === 304) notModified++;
    else others++;
  };
  // One unmeasured poll each: every poller's connection is open before the clock starts.
  await Promise.all(job.paths.map((_, i) => poll(agents[i], job, i)));
  const start = performance.now();
  const until = start + job.durationMs;
  await Promise.all(
    job.paths.map(async (_, i) => {
      if (job.mode === 'burst') {
        while (performance.now() < until) record(await poll(agents[i], job, i));
        return;
      }
      // A ticker: the k-th poll is due at start + phase + k * interval, whatever the previous one took.
      const phase = (i * job.intervalMs) / job.paths.length;
      for (let k = 0; ; k++) {
        const due = start + phase + k * job.intervalMs;
        if (due >= until) return;
        await new Promise((r) => setTimeout(r, Math.max(0, due - performance.now())));
        lateness.push(Math.max(0, performance.now() - due));
        record(await poll(agents[i], job, i));
      }
    }),
  );
  for (const a of agents) a.destroy();
  latencies.sort((a, b) => a - b);
  lateness.sort((a, b) => a - b);
  return { latencies, lateness, notModified, others };
}

// Forked: one job in, one result out.
if (require.main === module) {
  process.once('message', (job: PollersJob) => {
    void runPollers(job).then((result) => process.send!(result, () => process.exit(0)));
  });
}
