/**
 * A decider is pure: decide(command, state, now) -> events; evolve(state, event) -> state.
 * The service loads a stream, folds it with evolve, decides and appends with the expected version.
 */
export interface Decider<S, C, E extends { type: string; data: unknown }> {
  initialState(): S;
  evolve(state: S, event: E): S;
  decide(command: C, state: S, now: Date): E[];
}

export function fold<S, E extends { type: string; data: unknown }>(decider: Pick<Decider<S, never, E>, 'initialState' | 'evolve'>, events: E[]): S {
  return events.reduce((s, e) => decider.evolve(s, e), decider.initialState());
}
