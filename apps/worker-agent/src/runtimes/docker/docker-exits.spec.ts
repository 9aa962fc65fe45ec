import { describe, expect, it } from 'vitest';
import { LABELS } from '@berth/contracts';
import { ExitTracker, type EngineEvent } from './docker-exits';

const base = 1_796_293_648_000 * 1e6;
const labels = { [LABELS.app]: 'app-1', [LABELS.deployment]: 'dep-1', [LABELS.worker]: 'w-1' };
function ev(action: string, atMs: number, extra: Record<string, string> = {}, id = 'c1'): EngineEvent {
  return { Type: 'container', Action: action, Actor: { ID: id, Attributes: { ...labels, ...extra } }, timeNano: base + atMs * 1e6 };
}

function run(tracker: ExitTracker, events: EngineEvent[]) {
  return events.map((e) => tracker.take(e)).filter((x) => x !== undefined);
}

describe('ExitTracker', () => {
  it('reports a die that nobody asked for, with its code and time; a die after a kill (stop, rm -f) is not an exit', () => {
    const exits = run(new ExitTracker(), [
      ev('start', 0),
      ev('die', 10, { exitCode: '3' }),
      ev('start', 120),
      ev('die', 130, { exitCode: '137' }),
      ev('start', 400),
      ev('kill', 500, { signal: '15' }),
      ev('kill', 1500, { signal: '9' }),
      ev('die', 1520, { exitCode: '137' }),
      ev('start', 2000),
      ev('kill', 2100, { signal: '9' }),
      ev('die', 2110, { exitCode: '137' }),
      ev('destroy', 2200),
    ]);
    expect(exits).toEqual([
      { containerId: 'c1', appId: 'app-1', deploymentId: 'dep-1', exitCode: 3, at: new Date(1_796_293_648_010) },
      { containerId: 'c1', appId: 'app-1', deploymentId: 'dep-1', exitCode: 137, at: new Date(1_796_293_648_130) },
    ]);
  });

  it('keeps kills of one container apart from another', () => {
    const exits = run(new ExitTracker(), [ev('kill', 0, {}, 'a'), ev('die', 5, { exitCode: '1' }, 'b'), ev('die', 6, { exitCode: '143' }, 'a')]);
    expect(exits.map((e) => e.containerId)).toEqual(['b']);
  });

  it('passes over what it already took when the stream is followed again from its last event', () => {
    const tracker = new ExitTracker();
    const first = [ev('start', 0), ev('die', 10, { exitCode: '3' }), ev('start', 20, {}, 'c2'), ev('die', 20, { exitCode: '1' }, 'c2')];
    expect(run(tracker, first)).toHaveLength(2);
    expect(tracker.lastSeenMs).toBe(1_796_293_648_020);
    // The Engine replays from `since` (whole milliseconds, inclusive): old events again, then new ones.
    expect(run(tracker, [...first.slice(1), ev('start', 30), ev('die', 40, { exitCode: '2' })]).map((e) => e.exitCode)).toEqual([2]);
  });

  it('replayed from before its cursor, it learns the kills there but reports only exits from the cursor on', () => {
    const tracker = new ExitTracker(1_796_293_648_000 + 1_000);
    const exits = run(tracker, [ev('die', 500, { exitCode: '3' }), ev('start', 600), ev('kill', 900, { signal: '15' }), ev('die', 1_100, { exitCode: '143' }), ev('start', 1_200), ev('die', 1_300, { exitCode: '4' })]);
    expect(exits.map((e) => e.exitCode)).toEqual([4]);
  });

  it('ignores events of other kinds, and dies without Berth labels or an exit code', () => {
    expect(run(new ExitTracker(), [{ Type: 'network', Action: 'connect', timeNano: base }, ev('oom', 1), { ...ev('die', 2), Actor: { ID: 'x', Attributes: { exitCode: '1' } } }, ev('die', 3)])).toEqual([]);
  });
});
