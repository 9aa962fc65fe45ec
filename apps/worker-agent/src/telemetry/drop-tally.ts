/**
 * Runtime log lines the agent dropped (its outbox was full while the control plane was unreachable),
 * by app, that the control plane has not been told of yet. Every heartbeat carries what is
 * outstanding and its ack takes exactly that much off: drops counted while a heartbeat was on its way
 * go with the next one, and a heartbeat that got no ack is told again (so an ack lost after the
 * control plane counted is counted twice: rare, it answers a heartbeat at once). Kept in memory: a
 * killed agent loses what it had not reported yet, as it loses a gap marker it had not sent.
 */
import type { DroppedLogLines } from '@berth/contracts';

export class DropTally {
  private readonly outstanding = new Map<string, number>();

  add(appId: string, lines: number): void {
    if (lines > 0) this.outstanding.set(appId, (this.outstanding.get(appId) ?? 0) + lines);
  }

  /** What to report now (empty when nothing was dropped since the last acknowledged report). */
  report(): DroppedLogLines[] {
    return [...this.outstanding].map(([appId, lines]) => ({ appId, lines }));
  }

  /** The control plane acknowledged `told`: those drops are counted there. */
  reported(told: readonly DroppedLogLines[]): void {
    for (const { appId, lines } of told) {
      const left = (this.outstanding.get(appId) ?? 0) - lines;
      if (left > 0) this.outstanding.set(appId, left);
      else this.outstanding.delete(appId);
    }
  }
}
