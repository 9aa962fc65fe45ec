/**
 * Pure: which parts of a usage window are read from the buckets themselves and which from finished
 * days kept as ready-made JSON text (`usage_days`).
 *
 * A UTC day is finished once no recorder write can land in it any more. The recorder writes the
 * bucket so far with the minute it samples (usage-recorder.ts), so the last write of a day's last
 * bucket is sampled before midnight and lands shortly after; USAGE_DAY_SETTLE_MS leaves an hour for
 * a slow write and for clocks of replicas that differ. A write that still lands in a stored day
 * makes PostgreSQL forget that day (a trigger on usage_buckets), so the next read builds it again.
 */
import { DAY_MS } from '@berth/core';

/** How long after its end a day may still receive a write of the recorder. */
export const USAGE_DAY_SETTLE_MS = 60 * 60_000;

export interface UsageReadPart {
  /** 'buckets': read the 5-minute rows of [from, to); 'days': the stored days starting in [from, to). */
  source: 'buckets' | 'days';
  from: Date;
  to: Date;
}

export function dayStartOf(at: Date): Date {
  return new Date(Math.floor(at.getTime() / DAY_MS) * DAY_MS);
}

/** The start of the first whole day at or after `at`. */
function nextDayStart(at: Date): Date {
  return new Date(Math.ceil(at.getTime() / DAY_MS) * DAY_MS);
}

/** The end of the last day that is finished at `now` (the days before it are finished too). */
export function finishedDaysEnd(now: Date): Date {
  return dayStartOf(new Date(now.getTime() - USAGE_DAY_SETTLE_MS));
}

/**
 * The window [from, to) as consecutive parts, oldest first: the buckets before the first whole
 * finished day, the whole finished days, and the buckets after them (the part of today and of a day
 * still settling). Without a whole finished day in the window it is one 'buckets' part; an empty
 * window has no parts.
 */
export function planUsageRead(from: Date, to: Date, now: Date): UsageReadPart[] {
  if (from.getTime() >= to.getTime()) return [];
  const daysFrom = nextDayStart(from);
  const daysTo = new Date(Math.min(dayStartOf(to).getTime(), finishedDaysEnd(now).getTime()));
  if (daysFrom.getTime() >= daysTo.getTime()) return [{ source: 'buckets', from, to }];
  const parts: UsageReadPart[] = [];
  if (from.getTime() < daysFrom.getTime()) parts.push({ source: 'buckets', from, to: daysFrom });
  parts.push({ source: 'days', from: daysFrom, to: daysTo });
  if (daysTo.getTime() < to.getTime()) parts.push({ source: 'buckets', from: daysTo, to });
  return parts;
}
