/** One row of `npm run bench`'s table. */
export interface BenchRow {
  benchmark: string;
  metric: string;
  value: number;
  unit: string;
  /** The goal as the issue states it, e.g. ">= 2000" or "<= 100". */
  goal?: string;
  note?: string;
}

export function meetsGoal(row: BenchRow): boolean | undefined {
  if (!row.goal) return undefined;
  const m = /^(>=|<=)\s*([\d.]+)$/.exec(row.goal.trim());
  if (!m) return undefined;
  const target = Number(m[2]);
  return m[1] === '>=' ? row.value >= target : row.value <= target;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}
