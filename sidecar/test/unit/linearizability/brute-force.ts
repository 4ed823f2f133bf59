/**
 * Reference oracle for the checker: tries every total order of the WHOLE history (no
 * partitioning, no dropping of indeterminate reads, no linked list) that respects real time,
 * i.e. A before B whenever A.return < B.call. Exponential; only for histories of ~10 operations.
 * Agreement with `checkLinearizable` on random small histories tests the search, the memo cache,
 * P-compositionality and the info-read shortcut at once.
 */
import type { Operation } from '../../support/linearizability/history.js';
import type { Model } from '../../support/linearizability/model.js';

export const BRUTE_FORCE_LIMIT = 12;

export function bruteForceLinearizable<S, I, O>(
  model: Model<S, I, O>,
  ops: readonly Operation<I, O>[],
): boolean {
  const n = ops.length;
  if (n > BRUTE_FORCE_LIMIT) throw new Error(`brute force limited to ${BRUTE_FORCE_LIMIT} ops`);
  const failed = new Set<string>(); // (placed mask, state) pairs known to lead nowhere
  const op = (i: number): Operation<I, O> => {
    const o = ops[i];
    if (!o) throw new Error(`no op ${i}`);
    return o;
  };
  // i may go next iff no unplaced j had to finish before i started.
  const minimal = (mask: number, i: number): boolean => {
    for (let j = 0; j < n; j++) {
      if (j !== i && !(mask & (1 << j)) && op(j).return < op(i).call) return false;
    }
    return true;
  };
  const search = (mask: number, state: S): boolean => {
    if (mask === (1 << n) - 1) return true;
    const memo = `${mask}|${model.key(state)}`;
    if (failed.has(memo)) return false;
    for (let i = 0; i < n; i++) {
      if (mask & (1 << i) || !minimal(mask, i)) continue;
      const next = model.step(state, op(i).input, op(i).output);
      if (next !== undefined && search(mask | (1 << i), next)) return true;
    }
    failed.add(memo);
    return false;
  };
  return search(0, model.init());
}
