/**
 * Linearizability checker: Wing & Gong's search with Lowe's memoization, as implemented by
 * Porcupine (github.com/anishathalye/porcupine, `checkSingle`), plus P-compositionality.
 *
 * 1. Partition the history by `model.partition` (linearizability is local, so each key is checked
 *    on its own: the search is exponential in concurrency, and partitions keep it small).
 * 2. Per partition, lay out call and return events in time order as a doubly linked list (calls
 *    before returns at equal times, i.e. touching intervals count as concurrent).
 * 3. Depth-first search: walk the list from the head. At a call whose operation the model accepts
 *    in the current state, and whose (linearized set + op, new state) pair has not been seen
 *    before, linearize it: push it, unlink its call and return, restart from the head. Reaching a
 *    return means an operation that must already have taken effect has not been placed: backtrack
 *    (pop, relink, continue after the popped call). Empty list = linearizable; backtracking from
 *    an empty stack = not linearizable.
 *
 * On top of plain WGL, four prunings, each sound (argued where it is implemented) and checked
 * against a brute-force oracle in the unit tests:
 *  - effect-free operations (reads, failed writes) that are legal now are placed at once, with no
 *    alternatives (see Phase);
 *  - indeterminate (`info`) operations are tried last, never where they would have no effect, and
 *    once only they remain the history is accepted (they can all go last);
 *  - a configuration that only adds info operations to one known to fail is skipped (memo.ts);
 *  - of several identical info operations only the earliest unplaced one is tried (infoTwins).
 *
 * Limits. Single-threaded; worst-case exponential in the number of mutually concurrent operations
 * of one partition, and in the number of indeterminate writes, which stay concurrent with
 * everything after them. Legal histories are cheap (thousands of operations per partition in tens
 * of milliseconds). Proving a violation means exhausting every explanation of the history before
 * it: fast for hundreds of operations per partition with a few info operations, but a partition
 * with thousands of operations and dozens of info writes can exceed any budget. The search is
 * bounded by `timeoutMs` and `maxCacheEntries` and then answers 'unknown': a test must treat
 * 'unknown' as "not verified", never as a pass.
 */
import type { Operation } from './history.js';
import {
  EMPTY_SET,
  Memo,
  hashString,
  withRank,
  type LinearizedSet,
  type MemoHandle,
} from './memo.js';
import type { Model } from './model.js';

export type Verdict = 'ok' | 'illegal' | 'unknown';

export interface CheckOptions {
  /** Budget for the whole history (all partitions). Default 10 s. */
  timeoutMs?: number;
  /**
   * Memo entries allowed per partition before giving up with 'unknown' (each is ~100-200 bytes,
   * growing with concurrency). Default 1M.
   */
  maxCacheEntries?: number;
}

/** Why a partition is not linearizable, as far as the search got. */
export interface Counterexample<I, O> {
  partition: string;
  /**
   * The longest linearizable prefix found (most completed operations, then fewest info ones),
   * in linearization order.
   */
  linearized: Operation<I, O>[];
  /** `model.key` of the state after that prefix. */
  state: string;
  /**
   * The operation whose return was reached without being placed: after the prefix it had to be
   * linearized next (or before something else), and the model rejected it or every way to get
   * there had already failed.
   */
  stuck: Operation<I, O>;
}

export interface CheckResult<I, O> {
  result: Verdict;
  /** Partitions in the (filtered) history. */
  partitions: number;
  /** Partitions fully decided before returning (all of them when `result` is 'ok'). */
  partitionsChecked: number;
  /** Operations checked, after dropping indeterminate reads. */
  operations: number;
  elapsedMs: number;
  /** Present when `result` is 'illegal'. */
  counterexample?: Counterexample<I, O>;
  /** Present when `result` is 'unknown': the partition that ran out of budget, and why. */
  gaveUp?: { partition: string; reason: 'timeout' | 'cache-limit' };
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_CACHE_ENTRIES = 1_000_000;
/** How many search steps between clock reads: reading the clock every step is measurable. */
const DEADLINE_CHECK_INTERVAL = 1024;

export function checkLinearizable<S, I, O>(
  model: Model<S, I, O>,
  operations: readonly Operation<I, O>[],
  options: CheckOptions = {},
): CheckResult<I, O> {
  const started = performance.now();
  const deadline = started + (options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  const maxCacheEntries = options.maxCacheEntries ?? DEFAULT_MAX_CACHE_ENTRIES;
  for (const op of operations) assertWellFormed(op);

  const partitions = partitionHistory(model, operations);
  let checked = 0;
  let total = 0;
  for (const ops of partitions.values()) total += ops.length;
  const result = (verdict: Verdict, extra: Partial<CheckResult<I, O>> = {}): CheckResult<I, O> => ({
    result: verdict,
    partitions: partitions.size,
    partitionsChecked: checked,
    operations: total,
    elapsedMs: performance.now() - started,
    ...extra,
  });

  // Small partitions first: a violation in a small one is found cheaply.
  const order = [...partitions.entries()].sort(
    ([ka, a], [kb, b]) => a.length - b.length || (ka < kb ? -1 : ka > kb ? 1 : 0),
  );
  for (const [key, ops] of order) {
    const outcome = checkPartition(model, key, ops, deadline, maxCacheEntries);
    if (outcome.verdict === 'illegal') {
      return result('illegal', { counterexample: outcome.counterexample });
    }
    if (outcome.verdict === 'unknown') {
      return result('unknown', { gaveUp: { partition: key, reason: outcome.reason } });
    }
    checked++;
  }
  return result('ok');
}

function assertWellFormed<I, O>(op: Operation<I, O>): void {
  const info = op.status === 'info';
  if (!Number.isFinite(op.call)) throw new Error(`operation call time ${op.call} is not finite`);
  if (info !== (op.return === Infinity) || info !== (op.output === undefined)) {
    throw new Error(
      `inconsistent operation: status=${op.status} return=${op.return} output=${String(op.output)}`,
    );
  }
  if (op.return < op.call) throw new Error(`operation returns (${op.return}) before call`);
}

/**
 * Groups operations by partition key, in history order. Indeterminate reads are dropped: with
 * no observed output and no effect they fit anywhere (the reference §3 step 1).
 */
export function partitionHistory<S, I, O>(
  model: Model<S, I, O>,
  operations: readonly Operation<I, O>[],
): Map<string, Operation<I, O>[]> {
  const partitions = new Map<string, Operation<I, O>[]>();
  for (const op of operations) {
    if (op.status === 'info' && model.readOnly?.(op.input, undefined)) continue;
    const key = model.partition ? model.partition(op.input) : '';
    let list = partitions.get(key);
    if (!list) partitions.set(key, (list = []));
    list.push(op);
  }
  return partitions;
}

// ---------------------------------------------------------------------------------------------
// Single-partition search.

interface Entry {
  readonly kind: 'call' | 'return';
  /** Index of the operation within the partition. */
  readonly id: number;
  /** For a call: its return entry. */
  match: Entry | undefined;
  prev: Entry | undefined;
  next: Entry | undefined;
}

/**
 * Builds head ⇄ events. The head is a sentinel so unlinking never special-cases it. Also returns
 * each operation's rank: its position among return events (see memo.ts).
 */
function buildEventList<I, O>(ops: readonly Operation<I, O>[]): { head: Entry; rank: number[] } {
  const events: Array<{ entry: Entry; time: number }> = [];
  ops.forEach((op, id) => {
    const ret: Entry = { kind: 'return', id, match: undefined, prev: undefined, next: undefined };
    const call: Entry = { kind: 'call', id, match: ret, prev: undefined, next: undefined };
    events.push({ entry: call, time: op.call }, { entry: ret, time: op.return });
  });
  const order = (e: Entry) => (e.kind === 'call' ? 0 : 1);
  // Calls before returns at equal times (Porcupine): touching intervals are concurrent, the
  // conservative reading of a coarse clock. Then by id, for a deterministic search.
  events.sort(
    (a, b) => a.time - b.time || order(a.entry) - order(b.entry) || a.entry.id - b.entry.id,
  );
  const head: Entry = { kind: 'call', id: -1, match: undefined, prev: undefined, next: undefined };
  const rank = new Array<number>(ops.length).fill(-1);
  let tail = head;
  let returns = 0;
  for (const { entry } of events) {
    tail.next = entry;
    entry.prev = tail;
    tail = entry;
    if (entry.kind === 'return') rank[entry.id] = returns++;
  }
  return { head, rank };
}

/** Unlinks a call and its return (the operation is linearized). */
function lift(call: Entry): void {
  const ret = call.match;
  if (call.kind !== 'call' || !ret || !call.prev || !call.next || !ret.prev) {
    throw new Error('lift: not a linked call entry');
  }
  call.prev.next = call.next;
  call.next.prev = call.prev;
  ret.prev.next = ret.next;
  if (ret.next) ret.next.prev = ret.prev;
}

/** Exact inverse of `lift`; valid because lifts and unlifts nest (stack discipline). */
function unlift(call: Entry): void {
  const ret = call.match;
  if (!ret || !ret.prev || !call.prev || !call.next) {
    throw new Error('unlift: entry lost its links');
  }
  ret.prev.next = ret;
  if (ret.next) ret.next.prev = ret;
  call.prev.next = call;
  call.next.prev = call;
}

/**
 * The children of a configuration are the calls before the first return in the list. They are
 * tried in three phases, each a sound pruning of plain WGL:
 *
 *  FORCED  A completed operation that cannot change the state (`model.readOnly(input, output)`)
 *          and is legal now is placed now, as the ONLY child. Any completion that places it later
 *          still works with it removed (it has no effect, and removing it only drops real-time
 *          constraints), so placing it now loses nothing. This removes the 2^k orders of k
 *          concurrent reads that dominate plain WGL.
 *  OK      Other completed operations, in list order (plain WGL).
 *  INFO    Indeterminate operations. Deferring one is never worse, so configurations without it
 *          are explored (and marked failed) first, which lets the memo prune its info variants.
 */
const FORCED = 0;
const OK = 1;
const INFO = 2;
type Phase = typeof FORCED | typeof OK | typeof INFO;

interface Frame<S> {
  call: Entry;
  /** Configuration BEFORE this operation, restored on backtrack. */
  state: S;
  stateKey: string;
  stateHash: number;
  set: LinearizedSet;
  phase: Phase;
  /** The configuration this operation led to; marked failed when we backtrack out of it. */
  memo: MemoHandle;
}

type PartitionOutcome<I, O> =
  | { verdict: 'ok' }
  | { verdict: 'illegal'; counterexample: Counterexample<I, O> }
  | { verdict: 'unknown'; reason: 'timeout' | 'cache-limit' };

interface Best {
  ids: number[];
  okPlaced: number;
  state: string;
  stuck: number;
}

function checkPartition<S, I, O>(
  model: Model<S, I, O>,
  partition: string,
  ops: readonly Operation<I, O>[],
  deadline: number,
  maxCacheEntries: number,
): PartitionOutcome<I, O> {
  const isInfo = ops.map((op) => op.status === 'info');
  const noEffect = ops.map(
    (op) => op.status === 'ok' && model.readOnly?.(op.input, op.output) === true,
  );
  const okCount = isInfo.filter((info) => !info).length;
  const { head, rank } = buildEventList(ops);
  const firstTwin = infoTwins(ops);
  const placed = new Array<boolean>(ops.length).fill(false);
  const memo = new Memo(okCount); // info operations return at +Infinity: ranked last
  const stack: Frame<S>[] = [];
  let state = model.init();
  let stateKey = model.key(state);
  let stateHash = hashString(stateKey);
  let set = EMPTY_SET;
  let phase: Phase = FORCED;
  let okPlaced = 0;
  // Deepest point reached before a backtrack: the counterexample if the search fails.
  let best: Best | undefined;
  let steps = 0;

  /**
   * Undoes the last placement; returns where to resume scanning, or undefined when the stack
   * is empty (nothing left to try: not linearizable). A forced placement was its parent's only
   * child, so undoing one means the parent failed too: keep unwinding.
   */
  const backtrack = (): Entry | undefined => {
    for (;;) {
      const frame = stack.pop();
      if (!frame) return undefined;
      frame.memo.failed = true;
      ({ state, stateKey, stateHash, set, phase } = frame);
      placed[frame.call.id] = false;
      if (!isInfo[frame.call.id]) okPlaced--;
      unlift(frame.call);
      if (frame.phase !== FORCED) return frame.call.next;
    }
  };
  const recordDeadEnd = (stuck: number) => {
    // Measured in completed operations: info operations can be placed almost anywhere, so
    // counting them would favour prefixes that wander rather than explain.
    const infoPlaced = stack.length - okPlaced;
    if (
      !best ||
      okPlaced > best.okPlaced ||
      (okPlaced === best.okPlaced && infoPlaced < best.ids.length - best.okPlaced)
    ) {
      best = { ids: stack.map((f) => f.call.id), okPlaced, state: stateKey, stuck };
    }
  };
  const fail = (): PartitionOutcome<I, O> => {
    if (!best) throw new Error('checker invariant: failed without reaching a dead end');
    return { verdict: 'illegal', counterexample: counterexample(partition, ops, best) };
  };

  let entry = head.next;
  while (entry) {
    if (++steps % DEADLINE_CHECK_INTERVAL === 0 && performance.now() > deadline) {
      return { verdict: 'unknown', reason: 'timeout' };
    }
    const op = ops[entry.id];
    if (!op) throw new Error(`no operation ${entry.id}`);
    const info = isInfo[entry.id] === true;

    if (entry.kind === 'return') {
      // Info returns (+Infinity) sort last: reaching one means every completed operation is
      // linearized and only info operations remain, which fit at the end in any order.
      if (info) break;
      if (phase !== INFO) {
        phase = phase === FORCED ? OK : INFO; // this phase's candidates are exhausted
        entry = head.next;
        continue;
      }
      // An operation that must already have taken effect has not been placed. Backtrack.
      recordDeadEnd(entry.id);
      entry = backtrack();
      if (!entry) return fail();
      continue;
    }

    const candidate =
      phase === FORCED ? noEffect[entry.id] : phase === OK ? !info && !noEffect[entry.id] : info;
    if (!candidate || (info && firstTwin(entry.id, placed) !== entry.id)) {
      // Not this phase's kind, or an identical info operation invoked earlier is still unplaced.
      entry = entry.next;
      continue;
    }
    const next = model.step(state, op.input, op.output);
    if (next === undefined) {
      if (info) {
        throw new Error(`model ${model.name} rejected an unknown output; it must accept any`);
      }
      entry = entry.next;
      continue;
    }
    const nextKey = next === state ? stateKey : model.key(next);
    if (phase === FORCED && nextKey !== stateKey) {
      throw new Error(`model ${model.name}: readOnly operation changed the state`);
    }
    if (info && nextKey === stateKey) {
      entry = entry.next; // no effect here: deferring it to the end is never worse
      continue;
    }
    const nextHash = nextKey === stateKey ? stateHash : hashString(nextKey);
    const nextSet = withRank(set, rank[entry.id] ?? -1, okCount);
    const handle = memo.add(nextSet, nextKey, nextHash);
    if (!handle) {
      if (phase === FORCED) {
        // The only child was explored before (and failed), so this configuration fails.
        entry = backtrack();
        if (!entry) return fail();
        continue;
      }
      entry = entry.next; // explored before, or an info variant of a failed configuration
      continue;
    }
    if (memo.size > maxCacheEntries) return { verdict: 'unknown', reason: 'cache-limit' };
    stack.push({ call: entry, state, stateKey, stateHash, set, phase, memo: handle });
    placed[entry.id] = true;
    if (!info) okPlaced++;
    state = next;
    stateKey = nextKey;
    stateHash = nextHash;
    set = nextSet;
    phase = FORCED;
    lift(entry);
    entry = head.next;
  }

  // Every completed operation was placed, each exactly once.
  const distinct = new Set(stack.map((f) => f.call.id));
  const okOnStack = stack.filter((f) => !isInfo[f.call.id]).length;
  if (
    distinct.size !== stack.length ||
    okOnStack !== okCount ||
    okPlaced !== okCount ||
    set.frontier !== okCount
  ) {
    throw new Error(
      `checker invariant: finished with ${okOnStack}/${okCount} completed ops placed`,
    );
  }
  return { verdict: 'ok' };
}

/**
 * Info operations with identical inputs are interchangeable (same effect, any output), and the
 * one invoked first can go wherever a later twin can. So only the earliest unplaced twin is ever
 * a candidate: repeated indeterminate requests (a client retrying `delete X` across leader
 * crashes) then cost one choice instead of one per copy.
 */
function infoTwins<I, O>(
  ops: readonly Operation<I, O>[],
): (id: number, placed: readonly boolean[]) => number {
  const groups = new Map<string, number[]>();
  const groupOf: Array<number[] | undefined> = [];
  ops.forEach((op, id) => {
    if (op.status !== 'info') return;
    const key = JSON.stringify(op.input); // inputs are JSON data; a miss only costs pruning
    let group = groups.get(key);
    if (!group) groups.set(key, (group = []));
    group.push(id);
    groupOf[id] = group;
  });
  // Order of call events = the event list's order: by call time, then id.
  for (const group of groups.values()) {
    group.sort((a, b) => (ops[a]?.call ?? 0) - (ops[b]?.call ?? 0) || a - b);
  }
  return (id, placed) => {
    const group = groupOf[id];
    if (!group) return id;
    for (const member of group) if (!placed[member]) return member;
    return id;
  };
}

function counterexample<I, O>(
  partition: string,
  ops: readonly Operation<I, O>[],
  best: { ids: number[]; state: string; stuck: number },
): Counterexample<I, O> {
  const get = (id: number): Operation<I, O> => {
    const op = ops[id];
    if (!op) throw new Error(`no operation ${id}`);
    return op;
  };
  return {
    partition,
    linearized: best.ids.map(get),
    state: best.state,
    stuck: get(best.stuck),
  };
}

/** A readable report of a failed check, for test failure messages and artifacts. */
export function describeResult<S, I, O>(model: Model<S, I, O>, result: CheckResult<I, O>): string {
  const head = `${model.name}: ${result.result} (${result.partitionsChecked}/${result.partitions} partitions, ${result.operations} ops, ${result.elapsedMs.toFixed(1)} ms)`;
  if (result.gaveUp)
    return `${head}; gave up on partition "${result.gaveUp.partition}" (${result.gaveUp.reason})`;
  const cx = result.counterexample;
  if (!cx) return head;
  const show = (op: Operation<I, O>) => {
    const what = model.describeOperation
      ? model.describeOperation(op.input, op.output)
      : `${JSON.stringify(op.input)} -> ${op.status === 'info' ? '?' : JSON.stringify(op.output)}`;
    const end = op.status === 'info' ? 'inf' : String(op.return);
    return `client ${String(op.clientId)} [${op.call}, ${end}] ${what}`;
  };
  return [
    head,
    `partition "${cx.partition}": longest linearizable prefix (${cx.linearized.length} ops):`,
    ...cx.linearized.map((op, i) => `  ${i + 1}. ${show(op)}`),
    `  state after prefix: ${cx.state}`,
    `cannot place: ${show(cx.stuck)}`,
  ].join('\n');
}
