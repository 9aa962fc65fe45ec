/**
 * Is a freshly started container healthy? HTTP GET http://127.0.0.1:<hostPort><path>; 2xx or 3xx
 * is healthy. Quick first tries (an app that boots in 100 ms deploys in 100 ms), then the 1 s
 * cadence of the architecture, until the deadline. A container that exits for good ends the wait at
 * once; one its restart policy keeps starting again ends it once it was restarted CRASHLOOP_EXITS times
 * (the count that makes a crash loop). Time is injected: the cadence is tested with a fake clock.
 */
import http from 'node:http';
import { CRASHLOOP_EXITS, type Clock } from '@berth/core';
import type { ContainerState } from './runtimes/runtime';

/** Delays after the first failed tries; after these, HEALTH_CHECK_INTERVAL_MS. */
export const HEALTH_CHECK_FAST_DELAYS_MS = [50, 100, 200, 400] as const;
/** The health-check cadence (architecture: "HTTP GET, 1 s cadence, bounded deadline"). */
export const HEALTH_CHECK_INTERVAL_MS = 1_000;
/** Longest a single GET may take. */
export const HEALTH_CHECK_REQUEST_TIMEOUT_MS = 2_000;

export type ProbeResult = { ok: true; status: number } | { ok: false; detail: string };

export interface HealthCheckDeps {
  probe(url: string, timeoutMs: number): Promise<ProbeResult>;
  containerState(): Promise<ContainerState>;
  now(): number;
  sleep(ms: number): Promise<void>;
}

export interface HealthCheckRequest {
  hostPort: number;
  path: string;
  deadlineMs: number;
}

export type HealthResult =
  | { healthy: true; attempts: number; elapsedMs: number; status: number }
  | { healthy: false; attempts: number; elapsedMs: number; reason: string };

/** The shortest time one try may wait for an answer. */
const MIN_PROBE_TIMEOUT_MS = 100;

export function delayAfterAttempt(attempt: number): number {
  return HEALTH_CHECK_FAST_DELAYS_MS[attempt - 1] ?? HEALTH_CHECK_INTERVAL_MS;
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${(ms / 1000).toFixed(1)}s`;
}

function exitReason(state: ContainerState, exitCode = state.exitCode): string {
  if (!state.exists) return 'container disappeared before becoming healthy';
  const oom = state.oomKilled ? ' (killed: out of memory)' : '';
  const restarts = state.restarts ? ` (restarted ${state.restarts} times)` : '';
  return `container exited with code ${exitCode ?? 'unknown'}${oom} before becoming healthy${restarts}`;
}

export async function waitUntilHealthy(req: HealthCheckRequest, deps: HealthCheckDeps): Promise<HealthResult> {
  const path = req.path.startsWith('/') ? req.path : `/${req.path}`;
  const url = `http://127.0.0.1:${req.hostPort}${path}`;
  const started = deps.now();
  const deadline = started + req.deadlineMs;
  let last = 'no answer';
  /** The code of its last exit, seen while it waited to be restarted (once running again, the runtime says 0). */
  let lastExitCode: number | undefined;
  const fail = (attempts: number): HealthResult => ({
    healthy: false,
    attempts,
    elapsedMs: deps.now() - started,
    reason: `health check GET ${path} on port ${req.hostPort} did not succeed within ${seconds(req.deadlineMs)} (${attempts} tries, last: ${last})`,
  });
  for (let attempt = 1; ; attempt++) {
    // The last try lands on the deadline; it still gets a real chance to answer instead of a 1 ms
    // timeout that would hide the app's actual failure (refused, reset, 5xx) from the reason.
    const timeout = Math.max(MIN_PROBE_TIMEOUT_MS, Math.min(HEALTH_CHECK_REQUEST_TIMEOUT_MS, deadline - deps.now()));
    const result = await deps.probe(url, timeout);
    if (result.ok) return { healthy: true, attempts: attempt, elapsedMs: deps.now() - started, status: result.status };
    last = result.detail;
    const state = await deps.containerState();
    if (state.restarting) lastExitCode = state.exitCode;
    if (!state.running || (state.restarts ?? 0) >= CRASHLOOP_EXITS) {
      return { healthy: false, attempts: attempt, elapsedMs: deps.now() - started, reason: exitReason(state, state.running ? lastExitCode : state.exitCode) };
    }
    const remaining = deadline - deps.now();
    if (remaining <= 0) return fail(attempt);
    await deps.sleep(Math.min(delayAfterAttempt(attempt), remaining));
  }
}

/** One GET on 127.0.0.1; never follows redirects (a 3xx already means the app answers). */
export function httpProbe(url: string, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (r: ProbeResult) => {
      if (settled) return;
      settled = true;
      resolve(r);
    };
    const req = http.get(url, { timeout: timeoutMs, agent: false }, (res) => {
      const status = res.statusCode ?? 0;
      res.resume();
      res.on('error', () => undefined);
      settle(status >= 200 && status < 400 ? { ok: true, status } : { ok: false, detail: `HTTP ${status}` });
    });
    req.on('timeout', () => {
      settle({ ok: false, detail: `no answer within ${timeoutMs} ms` });
      req.destroy();
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      const detail = err.code === 'ECONNREFUSED' ? 'connection refused' : err.code === 'ECONNRESET' ? 'connection reset' : err.message;
      settle({ ok: false, detail });
    });
  });
}

/** The time a health check needs, from the one Clock. */
export function timeFrom(clock: Clock): Pick<HealthCheckDeps, 'now' | 'sleep'> {
  return { now: () => clock.now().getTime(), sleep: (ms) => clock.sleep(ms) };
}
