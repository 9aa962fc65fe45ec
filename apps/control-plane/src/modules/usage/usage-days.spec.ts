import { DAY_MS } from '@berth/core';
import { describe, expect, it } from 'vitest';
import { clampWindow } from './usage-bucket';
import { dayStartOf, finishedDaysEnd, planUsageRead, USAGE_DAY_SETTLE_MS } from './usage-days';

const t = (iso: string) => new Date(iso);
const buckets = (from: string, to: string) => ({ source: 'buckets', from: t(from), to: t(to) });
const days = (from: string, to: string) => ({ source: 'days', from: t(from), to: t(to) });

describe('usage read plan', () => {
  it('days are UTC days', () => {
    expect(dayStartOf(t('2026-12-03T23:59:59.999Z'))).toEqual(t('2026-12-03T00:00:00.000Z'));
    expect(dayStartOf(t('2026-12-03T00:00:00.000Z'))).toEqual(t('2026-12-03T00:00:00.000Z'));
  });

  it('a day is finished an hour after its end, not before', () => {
    expect(USAGE_DAY_SETTLE_MS).toBe(3_600_000);
    expect(finishedDaysEnd(t('2026-12-03T00:59:59.999Z'))).toEqual(t('2026-12-02T00:00:00.000Z'));
    expect(finishedDaysEnd(t('2026-12-03T01:00:00.000Z'))).toEqual(t('2026-12-03T00:00:00.000Z'));
  });

  it('90 days: the clamped first day and today from the buckets, the whole days between stored', () => {
    const now = t('2026-12-03T10:17:00.000Z');
    const { from, to } = clampWindow(t('2020-01-01T00:00:00Z'), undefined, now);
    expect(planUsageRead(from, to, now)).toEqual([
      buckets('2026-09-04T10:17:00.000Z', '2026-09-05T00:00:00.000Z'),
      days('2026-09-05T00:00:00.000Z', '2026-12-03T00:00:00.000Z'),
      buckets('2026-12-03T00:00:00.000Z', '2026-12-03T10:17:00.000Z'),
    ]);
  });

  it('within the hour after midnight yesterday is still read from its buckets', () => {
    const now = t('2026-12-03T00:20:00.000Z');
    expect(planUsageRead(t('2026-11-30T00:00:00Z'), now, now)).toEqual([
      days('2026-11-30T00:00:00.000Z', '2026-12-02T00:00:00.000Z'),
      buckets('2026-12-02T00:00:00.000Z', '2026-12-03T00:20:00.000Z'),
    ]);
  });

  it('a window on day boundaries has no bucket parts; one without a whole finished day is only buckets', () => {
    const now = t('2026-12-03T10:00:00.000Z');
    expect(planUsageRead(t('2026-11-01T00:00:00Z'), t('2026-11-03T00:00:00Z'), now)).toEqual([days('2026-11-01T00:00:00Z', '2026-11-03T00:00:00Z')]);
    expect(planUsageRead(t('2026-11-01T06:00:00Z'), t('2026-11-02T06:00:00Z'), now)).toEqual([buckets('2026-11-01T06:00:00Z', '2026-11-02T06:00:00Z')]);
    expect(planUsageRead(t('2026-12-02T10:00:00Z'), now, now)).toEqual([buckets('2026-12-02T10:00:00Z', '2026-12-03T10:00:00Z')]);
    expect(planUsageRead(now, now, now)).toEqual([]);
  });

  it('the parts cover the window exactly, one after the other', () => {
    const now = t('2026-12-03T10:00:00.000Z');
    for (let i = 0; i < 200; i++) {
      const from = new Date(now.getTime() - ((i * 7919) % 90) * DAY_MS - ((i * 104_729) % DAY_MS));
      const to = new Date(Math.min(now.getTime(), from.getTime() + ((i * 15_485_863) % (40 * DAY_MS))));
      const parts = planUsageRead(from, to, now);
      if (from.getTime() === to.getTime()) continue;
      expect(parts[0].from).toEqual(from);
      expect(parts.at(-1)!.to).toEqual(to);
      for (const [j, p] of parts.entries()) {
        expect(p.from.getTime()).toBeLessThan(p.to.getTime());
        if (j > 0) expect(p.from).toEqual(parts[j - 1].to);
        if (p.source === 'days') {
          expect(p.from.getTime() % DAY_MS).toBe(0);
          expect(p.to.getTime() % DAY_MS).toBe(0);
          expect(p.to.getTime()).toBeLessThanOrEqual(finishedDaysEnd(now).getTime());
        }
      }
    }
  });
});
