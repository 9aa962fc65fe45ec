/**
 * Seed section 4: a worker that stops heartbeating is marked offline. Pure: the sweep's inputs (the
 * silent workers and PostgreSQL's time, read in one query) come in, the workers to take offline go out.
 *
 * Never invent an outage: a replica judges only once it has watched without a break for a whole
 * grace period by PostgreSQL's clock — after it became the leader, after PostgreSQL or its connection
 * came back, after any sweep that failed or came late. Heartbeats the control plane could not record
 * while it or PostgreSQL was away would otherwise look like silence.
 */
import { HEARTBEAT_INTERVAL_MS } from '@berth/contracts';

export interface SilentWorker {
  workerId: string;
  lastHeartbeatAt: Date;
}

export interface OfflineDetectorState {
  /** PostgreSQL's time when this replica's unbroken watch began; undefined: not watching. */
  watchingSince?: Date;
  /** PostgreSQL's time at the last successful sweep. */
  lastSweepAt?: Date;
}

export interface SweepDecision {
  state: OfflineDetectorState;
  offline: SilentWorker[];
}

/** A sweep that comes this much later than its interval breaks the watch (a paused process, a stalled database). */
export const SWEEP_LATE_FACTOR = 3;

/**
 * How long a gap between two sweeps may be before it breaks the watch. A gap can hide heartbeats only
 * by as much as it lasts, and a heartbeating worker's last recorded heartbeat is at most one heartbeat
 * interval old: a gap of half what is left of the grace period cannot invent an outage. Breaking the
 * watch at any shorter gap (a few seconds of load) would postpone detection by a whole grace period each
 * time, and under steady load forever.
 */
export function sweepGapLimitMs(graceMs: number, sweepIntervalMs: number): number {
  return Math.max(SWEEP_LATE_FACTOR * sweepIntervalMs, (graceMs - HEARTBEAT_INTERVAL_MS) / 2);
}

export function decideOffline(state: OfflineDetectorState, sweep: { now: Date; silent: SilentWorker[] }, graceMs: number, sweepIntervalMs: number): SweepDecision {
  const late = state.lastSweepAt !== undefined && sweep.now.getTime() - state.lastSweepAt.getTime() > sweepGapLimitMs(graceMs, sweepIntervalMs);
  const watchingSince = state.watchingSince === undefined || late ? sweep.now : state.watchingSince;
  const next: OfflineDetectorState = { watchingSince, lastSweepAt: sweep.now };
  if (sweep.now.getTime() - watchingSince.getTime() < graceMs) return { state: next, offline: [] };
  return { state: next, offline: sweep.silent };
}

/** After a failed sweep or a lost leadership the watch starts over. */
export const brokenWatch = (): OfflineDetectorState => ({});
