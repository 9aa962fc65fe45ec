import { describe, expect, it } from 'vitest';
import { decideOffline, type OfflineDetectorState } from './offline-detection';

const GRACE = 15_000;
const EVERY = 1_000;
const t = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));
const silentSince = (s: number) => [{ workerId: 'w1', lastHeartbeatAt: t(s) }];

/** Runs sweeps at the given seconds (PostgreSQL's clock), each seeing the given silent workers. */
function run(sweeps: { at: number; silent: ReturnType<typeof silentSince> }[], start: OfflineDetectorState = {}) {
  let state = start;
  return sweeps.map(({ at, silent }) => {
    const d = decideOffline(state, { now: t(at), silent }, GRACE, EVERY);
    state = d.state;
    return d.offline.map((w) => w.workerId);
  });
}

describe('decideOffline', () => {
  it('takes a silent worker offline once the replica has watched for a whole grace period', () => {
    const sweeps = Array.from({ length: 20 }, (_, i) => ({ at: i, silent: silentSince(-20) }));
    const out = run(sweeps);
    expect(out.slice(0, 15).every((o) => o.length === 0)).toBe(true);
    expect(out[15]).toEqual(['w1']);
  });

  it('judges nothing right after a gap in its watch (restart, lost database, paused process): fresh heartbeats come first', () => {
    const before = Array.from({ length: 20 }, (_, i) => ({ at: i, silent: [] as ReturnType<typeof silentSince> }));
    // The database was away from 20 s to 60 s: heartbeats of those 40 s were never recorded.
    const after = Array.from({ length: 10 }, (_, i) => ({ at: 60 + i, silent: silentSince(19) }));
    const out = run([...before, ...after]);
    expect(out.every((o) => o.length === 0)).toBe(true);
  });

  it('a worker that heartbeats is never taken offline, and one silent for less than the grace period neither', () => {
    expect(run(Array.from({ length: 40 }, (_, i) => ({ at: i, silent: [] }))).flat()).toEqual([]);
  });

  it('keeps watching through sweeps a few seconds late (a loaded replica): detection is not postponed by a whole grace period', () => {
    // Every sweep 4 s after the last (4x its interval); the worker went silent at 0 s.
    const sweeps = Array.from({ length: 8 }, (_, i) => ({ at: 4 * i, silent: silentSince(0) }));
    const out = run(sweeps);
    expect(out.findIndex((o) => o.length > 0)).toBe(4); // at 16 s: grace + one late sweep
  });

  it('a gap longer than half the grace left after one heartbeat interval breaks the watch', () => {
    // Sweeps every second, then one 6 s late ((15 - 5) / 2 = 5 s): the watch starts over.
    const sweeps = [...Array.from({ length: 11 }, (_, i) => ({ at: i, silent: silentSince(-30) })), ...Array.from({ length: 16 }, (_, i) => ({ at: 16 + i, silent: silentSince(-30) }))];
    const out = run(sweeps);
    expect(out.findIndex((o) => o.length > 0)).toBe(11 + 15); // 15 s after the gap, not at 15 s
  });
});
