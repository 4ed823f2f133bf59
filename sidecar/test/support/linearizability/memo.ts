/**
 * Lowe's memoization for the Wing–Gong search: configurations (linearized set, model state)
 * already explored are not explored again.
 *
 * Encoding of the linearized set. Number operations by the order of their return events (their
 * "rank"). The search only ever linearizes calls that precede the first remaining return in the
 * event list, so in every configuration the set is
 *     { all ranks below `frontier` }  ∪  `extras`
 * where `frontier` is the lowest unlinearized rank and `extras` are the few linearized operations
 * ranked above it (they overlap the frontier operation in time). The key is therefore
 * O(concurrency), not O(history) like Porcupine's bitset, which would be cloned on every step.
 *
 * Indeterminate operations (return = +Infinity, ranked last) get a dominance rule on top. Nothing
 * ever has to follow an info operation and any output is accepted for it, so whatever completes
 * from (state, L ∪ J), J info-only, also completes from (state, L): do the same, then J at the
 * very end. So once (state, L) is known to FAIL, every (state, L ∪ J) is skipped. Only entries
 * marked failed count: one still on the search path has proved nothing yet. Without this, each
 * pending info operation doubles the configurations to exhaust before a violation is found.
 */

/** The linearized set: ranks < frontier, plus `extras` (ascending, all > frontier). */
export interface LinearizedSet {
  readonly frontier: number;
  readonly extras: readonly number[];
}

export const EMPTY_SET: LinearizedSet = { frontier: 0, extras: [] };

/**
 * The set with `rank` added. The frontier advances over any run of extras it now touches, but
 * never past `limit` (the first info rank): info operations always stay visible as extras.
 */
export function withRank(set: LinearizedSet, rank: number, limit: number): LinearizedSet {
  if (rank < set.frontier || set.extras.includes(rank)) {
    throw new Error(`linearized set: rank ${rank} is already a member`);
  }
  if (rank > set.frontier || rank >= limit) {
    const at = set.extras.findIndex((x) => x > rank);
    const extras =
      at < 0 ? [...set.extras, rank] : [...set.extras.slice(0, at), rank, ...set.extras.slice(at)];
    return { frontier: set.frontier, extras };
  }
  let frontier = rank + 1;
  let skip = 0;
  while (frontier < limit && set.extras[skip] === frontier) {
    frontier++;
    skip++;
  }
  return { frontier, extras: set.extras.slice(skip) };
}

interface Variant {
  /** The info operations (ranks) linearized in this configuration. */
  readonly info: readonly number[];
  /** Its whole subtree was searched without success. */
  failed: boolean;
}

/** Handle to a recorded configuration, to mark it failed when the search backtracks out of it. */
export type MemoHandle = Variant;

/** All recorded configurations sharing frontier, completed extras and state. */
interface Group {
  readonly frontier: number;
  readonly okExtras: readonly number[];
  readonly state: string;
  readonly variants: Variant[];
}

export class Memo {
  /** Hash of (frontier, completed extras, state) → groups; compared exactly on lookup. */
  private readonly buckets = new Map<number, Group[]>();
  size = 0;

  /** @param infoBase the lowest rank of an info operation (= number of completed operations) */
  constructor(private readonly infoBase: number) {}

  /**
   * Records a configuration; undefined if it was explored already or is known to fail.
   * `stateHash` is any hash of `state` (the caller computes it once per state).
   */
  add(set: LinearizedSet, state: string, stateHash: number): MemoHandle | undefined {
    const extras = set.extras;
    let split = extras.length;
    while (split > 0 && (extras[split - 1] ?? -1) >= this.infoBase) split--;
    let hash = mix(set.frontier ^ stateHash);
    for (let i = 0; i < split; i++) hash = mix(hash ^ (extras[i] ?? 0));

    let bucket = this.buckets.get(hash);
    if (!bucket) this.buckets.set(hash, (bucket = []));
    let group = bucket.find(
      (g) =>
        g.frontier === set.frontier &&
        g.state === state &&
        g.okExtras.length === split &&
        g.okExtras.every((x, i) => x === extras[i]),
    );
    if (!group) {
      group = { frontier: set.frontier, okExtras: extras.slice(0, split), state, variants: [] };
      bucket.push(group);
    }
    const info = split === extras.length ? NONE : extras.slice(split);
    for (const seen of group.variants) {
      if (sameMembers(seen.info, info)) return undefined;
      if (seen.failed && isSubset(seen.info, info)) return undefined;
    }
    const variant: Variant = { info, failed: false };
    group.variants.push(variant);
    this.size++;
    return variant;
  }
}

const NONE: readonly number[] = [];

function sameMembers(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Both ascending. */
function isSubset(small: readonly number[], big: readonly number[]): boolean {
  let j = 0;
  for (const x of small) {
    while (j < big.length && (big[j] ?? Infinity) < x) j++;
    if (big[j] !== x) return false;
    j++;
  }
  return true;
}

/** murmur3's 32-bit finalizer. */
function mix(x: number): number {
  let h = Math.imul((x ^ (x >>> 16)) >>> 0, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** FNV-1a over UTF-16 code units, for model state keys. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
