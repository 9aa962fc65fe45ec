/**
 * Seed section 4: a worker that stops heartbeating is marked offline. Pure: the sweep's inputs (the
 * silent workers and PostgreSQL's time, read in one query) come in, the workers to take offline go out.
 *
 * Never invent an outage: a replica judges only once it has watched without a break for a whole
 * grace period by PostgreSQL's clock — after it became the leader, after PostgreSQL or its connection
 * came back, after any sweep that failed or came late. Heartbeats the control plane could not record
 * while it or PostgreSQL was away would otherwise look like silence.
 */
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

export function decideOffline(state: OfflineDetectorState, sweep: { now: Date; silent: SilentWorker[] }, graceMs: number, sweepIntervalMs: number): SweepDecision {
  const late = state.lastSweepAt !== undefined && sweep.now.getTime() - state.lastSweepAt.getTime() > SWEEP_LATE_FACTOR * sweepIntervalMs;
  const watchingSince = state.watchingSince === undefined || late ? sweep.now : state.watchingSince;
  const next: OfflineDetectorState = { watchingSince, lastSweepAt: sweep.now };
  if (sweep.now.getTime() - watchingSince.getTime() < graceMs) return { state: next, offline: [] };
  return { state: next, offline: sweep.silent };
}

/** After a failed sweep or a lost leadership the watch starts over. */
export const brokenWatch = (): OfflineDetectorState => ({});
