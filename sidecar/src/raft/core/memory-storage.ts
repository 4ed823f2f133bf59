/**
 * An in-memory RaftStorage (etcd's MemoryStorage), for tests and the deterministic simulation.
 * The driver-facing mutators mirror what a durable implementation must offer: append with
 * truncation of a conflicting suffix, setHardState, applySnapshot, createSnapshot, compact.
 *
 * A "crash" in a simulation keeps this object (it is the disk) and discards the RaftNode.
 */
import {
  CompactedError,
  EMPTY_CONF_STATE,
  EMPTY_HARD_STATE,
  UnavailableError,
  type ConfState,
  type Entry,
  type HardState,
  type NodeId,
  type RaftStorage,
  type Snapshot,
} from '../types.js';
import { confState } from './conf-change.js';
import { limitSize } from './entry-size.js';

const EMPTY_SNAPSHOT: Snapshot = {
  metadata: { index: 0, term: 0, confState: EMPTY_CONF_STATE },
  data: Buffer.alloc(0),
};

/**
 * The durable state every founding voter of a new cluster writes before its first start —
 * identical on each, so they agree without talking (like etcd's --initial-cluster). Membership
 * lives in a snapshot at index 1, not in log entries, so a node added later learns the founders
 * from the snapshot the leader sends it (its log starts at 2). Nodes that are not founders start
 * with empty storage: empty membership, so they never campaign and wait to be added.
 */
export function bootstrapState(
  voters: readonly NodeId[],
  data: Buffer = Buffer.alloc(0),
): { snapshot: Snapshot; hardState: HardState } {
  if (voters.length === 0) throw new TypeError('a cluster needs at least one voter');
  return {
    snapshot: { metadata: { index: 1, term: 1, confState: confState(voters, []) }, data },
    hardState: { term: 1, vote: null, commit: 1 },
  };
}

export class MemoryStorage implements RaftStorage {
  private hardState: HardState;
  private snap: Snapshot;
  /** The compaction point: log[0] has index compactedIndex + 1. */
  private compactedIndex: number;
  private compactedTerm: number;
  private log: Entry[] = [];

  constructor(initial: { snapshot?: Snapshot; hardState?: HardState } = {}) {
    this.snap = initial.snapshot ?? EMPTY_SNAPSHOT;
    this.hardState = initial.hardState ?? EMPTY_HARD_STATE;
    this.compactedIndex = this.snap.metadata.index;
    this.compactedTerm = this.snap.metadata.term;
  }

  /** Storage for a founding voter of a new cluster (see bootstrapState). */
  static bootstrap(voters: readonly NodeId[], data?: Buffer): MemoryStorage {
    return new MemoryStorage(bootstrapState(voters, data));
  }

  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: this.hardState, confState: this.snap.metadata.confState };
  }

  entries(lo: number, hi: number, maxBytes = Infinity): Entry[] {
    if (lo < this.firstIndex()) throw new CompactedError(`entries from ${lo}: compacted`);
    if (hi > this.lastIndex() + 1) {
      throw new UnavailableError(`entries to ${hi}: last index is ${this.lastIndex()}`);
    }
    const offset = this.compactedIndex + 1;
    return limitSize(this.log.slice(lo - offset, hi - offset), maxBytes);
  }

  term(index: number): number {
    if (index < this.compactedIndex) throw new CompactedError(`term of ${index}: compacted`);
    if (index === this.compactedIndex) return this.compactedTerm;
    const entry = this.log[index - this.compactedIndex - 1];
    if (!entry) throw new UnavailableError(`term of ${index}: last index is ${this.lastIndex()}`);
    return entry.term;
  }

  firstIndex(): number {
    return this.compactedIndex + 1;
  }

  lastIndex(): number {
    return this.compactedIndex + this.log.length;
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  setHardState(hardState: HardState): void {
    this.hardState = hardState;
  }

  /** Appends entries, first dropping stored ones from entries[0].index on (conflicting suffix). */
  append(entries: readonly Entry[]): void {
    const first = entries[0];
    if (!first) return;
    if (first.index > this.lastIndex() + 1) {
      throw new UnavailableError(`append at ${first.index} leaves a gap after ${this.lastIndex()}`);
    }
    // Entries at or below the compaction point are already covered by the snapshot.
    const fresh = entries.filter((entry) => entry.index > this.compactedIndex);
    const from = fresh[0]?.index;
    if (from === undefined) return;
    this.log = [...this.log.slice(0, from - this.compactedIndex - 1), ...fresh];
  }

  /** Replaces the whole log with a snapshot received from the leader. */
  applySnapshot(snapshot: Snapshot): void {
    if (snapshot.metadata.index <= this.snap.metadata.index) {
      throw new CompactedError(
        `snapshot ${snapshot.metadata.index} is not newer than ${this.snap.metadata.index}`,
      );
    }
    this.snap = snapshot;
    this.compactedIndex = snapshot.metadata.index;
    this.compactedTerm = snapshot.metadata.term;
    this.log = [];
  }

  /**
   * Records a snapshot of the state machine as of applied entry `index` (whose membership is
   * `conf`); it is what the leader sends to followers that need compacted entries.
   */
  createSnapshot(index: number, conf: ConfState, data: Buffer): Snapshot {
    if (index <= this.snap.metadata.index) {
      throw new CompactedError(
        `snapshot at ${index} is not newer than ${this.snap.metadata.index}`,
      );
    }
    if (index > this.lastIndex()) {
      throw new UnavailableError(`snapshot at ${index}: last index is ${this.lastIndex()}`);
    }
    this.snap = { metadata: { index, term: this.term(index), confState: conf }, data };
    return this.snap;
  }

  /** Discards entries up to `index`, which a snapshot must already cover. */
  compact(index: number): void {
    if (index <= this.compactedIndex) return;
    if (index > this.snap.metadata.index) {
      throw new RangeError(
        `compact to ${index}: the snapshot only covers ${this.snap.metadata.index}`,
      );
    }
    this.compactedTerm = this.term(index);
    this.log = this.log.slice(index - this.compactedIndex);
    this.compactedIndex = index;
  }
}
