import { describe, expect, it } from 'vitest';
import { DropTally } from './drop-tally';

describe('DropTally (dropped log lines until a heartbeat reports them)', () => {
  it('reports nothing when nothing was dropped', () => {
    const tally = new DropTally();
    tally.add('a', 0);
    expect(tally.report()).toEqual([]);
  });

  it('reports drops by app until a report of them is acknowledged', () => {
    const tally = new DropTally();
    tally.add('a', 3);
    tally.add('b', 1);
    tally.add('a', 2);
    expect(tally.report()).toEqual([{ appId: 'a', lines: 5 }, { appId: 'b', lines: 1 }]);
    // No ack (the heartbeat was lost): the same drops go with the next one.
    expect(tally.report()).toEqual([{ appId: 'a', lines: 5 }, { appId: 'b', lines: 1 }]);
    tally.reported(tally.report());
    expect(tally.report()).toEqual([]);
  });

  it('keeps what was dropped while a report was on its way for the next one', () => {
    const tally = new DropTally();
    tally.add('a', 5);
    const inFlight = tally.report();
    tally.add('a', 7);
    tally.add('b', 4);
    tally.reported(inFlight);
    expect(tally.report()).toEqual([{ appId: 'a', lines: 7 }, { appId: 'b', lines: 4 }]);
  });
});
