/**
 * The sequential specification the checker compares a history against (Porcupine's `Model`).
 *
 * Every model here is DETERMINISTIC: given a state and an input there is exactly one output and
 * one next state (`apply`). `step` is derived from it, which gives indeterminate operations the
 * right meaning for free: an `info` operation (output unknown) is legal in every state and has
 * the effect it would have had, at whatever point the checker chooses to linearize it; placing it
 * last is the same as "never took effect".
 */

export interface Model<S, I, O> {
  readonly name: string;
  /** The state before any operation. */
  init(): S;
  /**
   * P-compositionality: operations on different partitions never interact, so each partition is
   * checked on its own (Herlihy & Wing's locality; Porcupine's `Partition`). Omit to check the
   * whole history as one partition.
   */
  partition?(input: I): string;
  /**
   * True if the operation, given its observed output (`undefined` = unknown), leaves the state
   * unchanged in EVERY state where the model accepts it: a read; or a write whose output shows
   * it did nothing (create → 'exists', cas → false). The checker relies on it for two sound
   * shortcuts: such an `info` operation constrains nothing and is dropped, and such a completed
   * operation, when legal, is placed at once without trying alternatives. Wrong answers make
   * the checker wrong; omit the method when unsure (the search is then just slower).
   */
  readOnly?(input: I, output: O | undefined): boolean;
  /**
   * Tries to apply `input` in `state` producing `output` (`undefined` = unknown, accept any).
   * Returns the next state, or `undefined` if the output is impossible in this state.
   */
  step(state: S, input: I, output: O | undefined): S | undefined;
  /**
   * Canonical identity of a state for the memo cache: two states are equal iff their keys are.
   * Must not depend on insertion order or other incidental representation details.
   */
  key(state: S): string;
  /** Human-readable forms for counterexamples. */
  describeOperation?(input: I, output: O | undefined): string;
}

/** A model whose operations are functions of the state: `apply` says what happens. */
export interface DeterministicSpec<S, I, O> {
  readonly name: string;
  init(): S;
  apply(state: S, input: I): { output: O; state: S };
  outputEqual(a: O, b: O): boolean;
  partition?(input: I): string;
  readOnly?(input: I, output: O | undefined): boolean;
  key(state: S): string;
  describeOperation?(input: I, output: O | undefined): string;
}

export interface DeterministicModel<S, I, O> extends Model<S, I, O> {
  /** Kept so generators can produce histories from a real sequential execution. */
  apply(state: S, input: I): { output: O; state: S };
  outputEqual(a: O, b: O): boolean;
}

export function deterministicModel<S, I, O>(
  spec: DeterministicSpec<S, I, O>,
): DeterministicModel<S, I, O> {
  // Built field by field rather than spread so a class-based spec keeps its prototype methods.
  const model: DeterministicModel<S, I, O> = {
    name: spec.name,
    init: () => spec.init(),
    apply: (state, input) => spec.apply(state, input),
    outputEqual: (a, b) => spec.outputEqual(a, b),
    key: (state) => spec.key(state),
    step(state, input, output) {
      const result = spec.apply(state, input);
      if (output === undefined || spec.outputEqual(result.output, output)) return result.state;
      return undefined;
    },
  };
  const { partition, readOnly, describeOperation } = spec;
  if (partition) model.partition = (input) => partition.call(spec, input);
  if (readOnly) model.readOnly = (input, output) => readOnly.call(spec, input, output);
  if (describeOperation) {
    model.describeOperation = (input, output) => describeOperation.call(spec, input, output);
  }
  return model;
}
