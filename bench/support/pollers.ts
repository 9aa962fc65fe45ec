/**
 * Traefik-like pollers in a process of their own (forked by the routing benchmark), so the client's
 * work never shares an event loop with the control plane or the benchmark. Each poller is one Traefik
 * instance: its own keep-alive connection, a fixed ticker, and a phase of its own (spread evenly over
 * the interval, as independently started instances would be). Latency is measured here, client-side.
 */
import http from 'node:http';
import net from 'node:net';
import { performance } from 'node:perf_hooks';

export interface PollersJob {
  port: number;
  token: string;
  /** One poller per path, sending If-None-Match with the ETag at the same index. */
  paths: string[];
  etags: string[];
  /** 'paced': each poller every intervalMs; 'burst': each poller back to back. */
  mode: 'paced' | 'burst';
  /**
   * 'http': Node's http client with a keep-alive agent per poller. 'wire': a keep-alive socket per
   * poller that writes a request built once and reads the status line and headers itself, as lean as
   * a Go client's transport: the client's own parsing and stream machinery stay out of the latency.
   */
  client: 'http' | 'wire';
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

/** One poller's connection for the 'wire' client: a request built once, a response read by hand. */
class WirePoller {
  private socket!: net.Socket;
  private pending: { started: number; resolve: (r: [number, number]) => void } | undefined;
  private buffered = '';
  private bodyLeft = -1;
  private status = 0;
  private readonly request: Buffer;

  constructor(
    private readonly port: number,
    path: string,
    token: string,
    etag: string,
  ) {
    this.request = Buffer.from(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${token}\r\nIf-None-Match: ${etag}\r\nUser-Agent: berth-bench\r\n\r\n`, 'latin1');
  }

  connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.socket = net.connect({ host: '127.0.0.1', port: this.port, noDelay: true }, () => resolve());
      this.socket.setEncoding('latin1');
      this.socket.once('error', reject);
      this.socket.on('data', (chunk: string) => this.read(chunk));
      this.socket.on('close', () => this.finish(0));
    });
  }

  poll(): Promise<[number, number]> {
    return new Promise((resolve) => {
      this.pending = { started: performance.now(), resolve };
      this.socket.write(this.request);
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private read(chunk: string): void {
    if (this.bodyLeft >= 0) return this.body(chunk.length);
    this.buffered += chunk;
    const end = this.buffered.indexOf('\r\n\r\n');
    if (end < 0) return;
    const head = this.buffered.slice(0, end);
    const rest = this.buffered.length - end - 4;
    this.buffered = '';
    this.status = Number(head.slice(9, 12));
    const length = /\r\ncontent-length: *(\d+)/i.exec(head);
    this.bodyLeft = this.status === 304 ? 0 : length ? Number(length[1]) : 0;
    this.body(rest);
  }

  private body(bytes: number): void {
    this.bodyLeft -= bytes;
    if (this.bodyLeft <= 0) this.finish(this.status);
  }

  private finish(status: number): void {
    const pending = this.pending;
    this.pending = undefined;
    this.bodyLeft = -1;
    pending?.resolve([status, performance.now() - pending.started]);
  }
}

export async function runPollers(job: PollersJob): Promise<PollersResult> {
  const latencies: number[] = [];
  const lateness: number[] = [];
  let notModified = 0;
  let others = 0;
  const agents = job.client === 'http' ? job.paths.map(() => new http.Agent({ keepAlive: true, maxSockets: 1 })) : [];
  const wires = job.client === 'wire' ? job.paths.map((p, i) => new WirePoller(job.port, p, job.token, job.etags[i])) : [];
  await Promise.all(wires.map((w) => w.connect()));
  const send = (i: number) => (job.client === 'wire' ? wires[i].poll() : poll(agents[i], job, i));
  const record = ([status, ms]: [number, number]) => {
    latencies.push(ms);
    if (status === 304) notModified++;
    else others++;
  };
  // One unmeasured poll each: every poller's connection is open before the clock starts.
  await Promise.all(job.paths.map((_, i) => send(i)));
  const start = performance.now();
  const until = start + job.durationMs;
  await Promise.all(
    job.paths.map(async (_, i) => {
      if (job.mode === 'burst') {
        while (performance.now() < until) record(await send(i));
        return;
      }
      // A ticker: the k-th poll is due at start + phase + k * interval, whatever the previous one took.
      const phase = (i * job.intervalMs) / job.paths.length;
      for (let k = 0; ; k++) {
        const due = start + phase + k * job.intervalMs;
        if (due >= until) return;
        await new Promise((r) => setTimeout(r, Math.max(0, due - performance.now())));
        lateness.push(Math.max(0, performance.now() - due));
        record(await send(i));
      }
    }),
  );
  for (const a of agents) a.destroy();
  for (const w of wires) w.close();
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
