import { Inject, Injectable } from '@nestjs/common';
import { ConcurrencyError, cursorOfAppend, EventStore, type AppendResult, type EventMetadata, type StreamAppend, type StoredEvent } from '@berth/event-store';
import { CLOCK, Clock } from '../common/clock';
import type { Decider } from '../common/decider';
import { Projections } from './projections.service';

export interface Handled<S> {
  state: S;
  /** Events this command appended (empty when the decider found nothing to do). */
  appended: StoredEventLike[];
  result?: AppendResult;
}

export interface StoredEventLike {
  type: string;
  data: unknown;
}

const MAX_ATTEMPTS = 3;

export interface HandleOptions {
  /** false: return once appended, without waiting for the read models (the caller reads nothing back). */
  waitForProjections?: boolean;
  /** The error when the stream has no events yet (a command on something that does not exist). */
  ifMissing?: () => Error;
  /** Decide-and-append attempts before a concurrency conflict reaches the caller (default 3). */
  maxAttempts?: number;
  /**
   * The stream is almost always new (one per webhook delivery): decide on the initial state and append
   * at 'no_stream' without reading it first. If it exists after all, the append fails and the command is
   * decided again on what the stream holds. Not with `ifMissing`.
   */
  expectNew?: boolean;
}

/**
 * load stream -> decide -> append(expectedVersion) -> wait for the read models.
 * A concurrent writer makes the append fail; the command is decided again on the fresh state, and the
 * last allowed conflict reaches the caller as 409. Metadata may be derived from the stream's history
 * (a deployment's correlation id and causation chain).
 */
@Injectable()
export class StreamHandler {
  constructor(
    private readonly store: EventStore,
    private readonly projections: Projections,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async load<S, E extends { type: string; data: unknown }>(streamId: string, decider: Pick<Decider<S, never, E>, 'initialState' | 'evolve'>) {
    const events = await this.store.readStream(streamId);
    const state = events.reduce((s, e) => decider.evolve(s, e as unknown as E), decider.initialState());
    return { state, version: events.length === 0 ? 0 : events[events.length - 1].version, events: events as StoredEvent[] };
  }

  async handle<S, C, E extends { type: string; data: unknown }>(
    streamId: string,
    streamType: string,
    decider: Decider<S, C, E>,
    command: C,
    metadata: EventMetadata | ((history: StoredEvent[]) => EventMetadata),
    opts: HandleOptions = {},
  ): Promise<Handled<S>> {
    const maxAttempts = opts.maxAttempts ?? MAX_ATTEMPTS;
    for (let attempt = 1; ; attempt++) {
      const { state, version, events: history } =
        attempt === 1 && opts.expectNew ? { state: decider.initialState(), version: 0, events: [] as StoredEvent[] } : await this.load(streamId, decider);
      if (history.length === 0 && opts.ifMissing) throw opts.ifMissing();
      const events = decider.decide(command, state, this.clock.now());
      if (events.length === 0) return { state, appended: [] };
      try {
        const meta = typeof metadata === 'function' ? metadata(history) : metadata;
        const result = await this.store.append(streamId, streamType, version === 0 ? 'no_stream' : version, events, meta);
        if (opts.waitForProjections !== false) await this.projections.waitFor(result);
        return { state: events.reduce((s, e) => decider.evolve(s, e), state), appended: events, result };
      } catch (err) {
        if (err instanceof ConcurrencyError && attempt < maxAttempts) continue;
        throw err;
      }
    }
  }

  /**
   * The same for a decision that spans streams (claim a name and create an app; request a deployment
   * while checking its app did not change): `decide` reads what it needs and returns every stream's
   * part; all are appended in one transaction, decided again on a conflict. No parts: nothing happens.
   */
  async handleMany(decide: () => Promise<StreamAppend[]>, metadata: EventMetadata, opts: Pick<HandleOptions, 'maxAttempts'> = {}): Promise<AppendResult[]> {
    const maxAttempts = opts.maxAttempts ?? MAX_ATTEMPTS;
    for (let attempt = 1; ; attempt++) {
      const parts = await decide();
      // Nothing to decide (the command changes nothing): nothing to append or wait for.
      if (parts.length === 0) return [];
      try {
        const results = await this.store.appendMany(parts, metadata);
        await this.projections.waitFor(cursorOfAppend({ transactionId: results[0].transactionId, positions: results.flatMap((r) => r.positions) }));
        return results;
      } catch (err) {
        if (err instanceof ConcurrencyError && attempt < maxAttempts) continue;
        throw err;
      }
    }
  }
}
