/**
 * The node's view of its Raft log (etcd's raftLog): the persisted prefix in RaftStorage plus the
 * unstable tail, with the commit and applied indices.
 *
 *   storage: [firstIndex ........ unstable.offset)   unstable: [offset ........ lastIndex]
 *
 * Invariants: applied ≤ committed ≤ lastIndex; committed never decreases; a committed entry is
 * never overwritten.
 */
import type { Entry, RaftStorage, Snapshot } from '../types.js';
import { limitSize } from './entry-size.js';
import { invariant } from './errors.js';
import { UnstableLog } from './unstable.js';

export class RaftLog {
  readonly unstable: UnstableLog;
  /** Highest index known to be committed (Raft §5.3). */
  committed: number;
  /** Highest index the driver has applied to its state machine (confirmed by advance()). */
  applied: number;

  constructor(
    private readonly storage: RaftStorage,
    private readonly maxCommittedSizePerReady: number,
  ) {
    this.unstable = new UnstableLog(storage.lastIndex() + 1);
    // Everything up to the storage snapshot is committed and applied: the driver restores its
    // state machine from that snapshot on start. (Storage may retain entries before it.)
    const snapshotIndex = storage.snapshot().metadata.index;
    invariant(
      storage.firstIndex() - 1 <= snapshotIndex && snapshotIndex <= storage.lastIndex(),
      () =>
        `storage snapshot ${snapshotIndex} outside ` +
        `[${storage.firstIndex() - 1}, ${storage.lastIndex()}]`,
    );
    this.committed = snapshotIndex;
    this.applied = snapshotIndex;
  }

  firstIndex(): number {
    return this.unstable.firstIndex() ?? this.storage.firstIndex();
  }

  lastIndex(): number {
    return this.unstable.lastIndex() ?? this.storage.lastIndex();
  }

  lastTerm(): number {
    const term = this.term(this.lastIndex());
    invariant(term !== undefined, () => `no term for the last index ${this.lastIndex()}`);
    return term;
  }

  /**
   * The term of the entry at `index`, or undefined outside [firstIndex - 1, lastIndex] (compacted
   * away, or past the end). The entry just before firstIndex is compacted, but its term is kept
   * for matching appends.
   */
  term(index: number): number | undefined {
    const unstableTerm = this.unstable.term(index);
    if (unstableTerm !== undefined) return unstableTerm;
    if (index < this.firstIndex() - 1 || index > this.lastIndex()) return undefined;
    return this.storage.term(index);
  }

  /** True when `index` lies below the log's retained prefix, so only a snapshot covers it. */
  isCompacted(index: number): boolean {
    return index < this.firstIndex() - 1;
  }

  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term;
  }

  /**
   * Election restriction (Raft §5.4.1): is a log ending at (lastIndex, lastTerm) at least as up
   * to date as ours?
   */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ourTerm = this.lastTerm();
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex());
  }

  /**
   * Follower side of AppendEntries (Raft §5.3). Returns the index of the last entry known to match
   * the leader (prevIndex + entries), or null when the log has no entry (prevIndex, prevTerm).
   * Entries already present are not rewritten: a late, duplicate append must not truncate
   * entries that arrived after it.
   */
  maybeAppend(
    prevIndex: number,
    prevTerm: number,
    commit: number,
    entries: readonly Entry[],
  ): number | null {
    if (!this.matchTerm(prevIndex, prevTerm)) return null;
    const lastNew = prevIndex + entries.length;
    const conflict = this.findConflict(entries);
    if (conflict !== 0) {
      invariant(
        conflict > this.committed,
        () => `entry ${conflict} conflicts with the committed prefix (committed ${this.committed})`,
      );
      this.append(entries.slice(conflict - (prevIndex + 1)));
    }
    // Commit only what is known to match the leader: the leader's commit may run ahead of it.
    this.commitTo(Math.min(commit, lastNew));
    return lastNew;
  }

  /** Append entries, overwriting any (uncommitted) suffix they conflict with. Returns lastIndex. */
  append(entries: readonly Entry[]): number {
    const first = entries[0];
    if (first === undefined) return this.lastIndex();
    invariant(
      first.index > this.committed,
      () =>
        `append at ${first.index} would overwrite committed entries (committed ${this.committed})`,
    );
    invariant(
      first.index <= this.lastIndex() + 1,
      () => `append at ${first.index} leaves a gap after ${this.lastIndex()}`,
    );
    this.unstable.truncateAndAppend(entries);
    return this.lastIndex();
  }

  /**
   * The index of the first of `entries` that conflicts with the log (same index, other term) or
   * is new; 0 if all are already present.
   */
  private findConflict(entries: readonly Entry[]): number {
    for (const entry of entries) {
      if (!this.matchTerm(entry.index, entry.term)) return entry.index;
    }
    return 0;
  }

  /**
   * The largest (index, term) at or below `index` whose term is at most `term` — the best guess
   * of where two logs can still match, given that the other side holds `term` at `index`. Terms
   * only grow along a log, so every entry skipped here has a newer term and cannot match.
   * Returns term 0 if the search runs into the compacted prefix (or past the end).
   */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    for (let i = index; i > 0; i--) {
      const ourTerm = this.term(i);
      if (ourTerm === undefined) return { index: i, term: 0 };
      if (ourTerm <= term) return { index: i, term: ourTerm };
    }
    return { index: 0, term: 0 };
  }

  /** Entries from `lo` to the end, at most `maxBytes` of payload (at least one if any). */
  entriesFrom(lo: number, maxBytes: number): Entry[] {
    if (lo > this.lastIndex()) return [];
    return this.slice(lo, this.lastIndex() + 1, maxBytes);
  }

  /** Entries in [lo, hi), at most `maxBytes` of payload (at least one if any). */
  slice(lo: number, hi: number, maxBytes: number): Entry[] {
    invariant(
      this.firstIndex() <= lo && lo <= hi && hi <= this.lastIndex() + 1,
      () => `slice [${lo}, ${hi}) out of [${this.firstIndex()}, ${this.lastIndex() + 1})`,
    );
    if (lo === hi) return [];
    const boundary = this.unstable.firstEntryIndex;
    let result: Entry[] = [];
    if (lo < boundary) {
      const stableHi = Math.min(hi, boundary);
      result = this.storage.entries(lo, stableHi, maxBytes);
      // Storage stopped early because of the size limit: nothing more fits.
      if (result.length < stableHi - lo || stableHi === hi) return result;
    }
    const unstable = this.unstable.slice(Math.max(lo, boundary), hi);
    return limitSize([...result, ...unstable], maxBytes);
  }

  commitTo(index: number): void {
    if (index <= this.committed) return;
    invariant(
      index <= this.lastIndex(),
      () => `commit ${index} is past the last index ${this.lastIndex()}: was the log lost?`,
    );
    this.committed = index;
  }

  /**
   * Leader commit rule (Raft §5.4.2, Figure 8): `index` is replicated on a quorum, but it may be
   * committed by counting only if it is from the leader's current `term`. Earlier entries commit
   * implicitly with it (Log Matching).
   */
  maybeCommit(index: number, term: number): boolean {
    if (index <= this.committed || this.term(index) !== term) return false;
    this.commitTo(index);
    return true;
  }

  appliedTo(index: number): void {
    invariant(
      this.applied <= index && index <= this.committed,
      () => `applied ${index} out of [${this.applied}, ${this.committed}]`,
    );
    this.applied = index;
  }

  /**
   * The driver reports entries up to (`index`, `term`) and/or a snapshot at `snapshotIndex`
   * persisted: release them from memory — after checking storage really holds them, since from
   * now on the log is read from there.
   */
  stableTo(persisted: { index: number; term: number } | null, snapshotIndex: number | null): void {
    if (snapshotIndex !== null) {
      invariant(
        this.storage.snapshot().metadata.index >= snapshotIndex,
        () => `advance() before the Ready's snapshot ${snapshotIndex} was persisted`,
      );
      this.unstable.stableSnapshotTo(snapshotIndex);
    }
    // If a conflicting append replaced the entry meanwhile, the next Ready rewrites it.
    if (persisted === null || this.unstable.term(persisted.index) !== persisted.term) return;
    const { index, term } = persisted;
    invariant(
      index < this.storage.firstIndex() - 1 ||
        (index <= this.storage.lastIndex() && this.storage.term(index) === term),
      () => `advance() before the Ready's entries (up to ${index}@${term}) were persisted`,
    );
    this.unstable.stableTo(index, term);
  }

  /** A received snapshot is waiting to be persisted and applied (or is being). */
  hasPendingSnapshot(): boolean {
    return this.unstable.snapshot !== null;
  }

  /**
   * Committed entries not applied yet. None while a snapshot is pending: the state machine must
   * be restored from it first.
   */
  nextCommittedEntries(): Entry[] {
    if (this.hasPendingSnapshot() || this.applied >= this.committed) return [];
    return this.slice(this.applied + 1, this.committed + 1, this.maxCommittedSizePerReady);
  }

  hasNextCommittedEntries(): boolean {
    return !this.hasPendingSnapshot() && this.applied < this.committed;
  }

  /** The snapshot to send a follower that needs compacted entries. */
  snapshot(): Snapshot {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }

  /** Replace the log with a snapshot from the leader (the caller checked it is news to us). */
  restore(snapshot: Snapshot): void {
    invariant(
      snapshot.metadata.index > this.committed,
      () => `restoring snapshot ${snapshot.metadata.index} at or below commit ${this.committed}`,
    );
    this.unstable.restore(snapshot);
    this.committed = snapshot.metadata.index;
  }

  /** Whether any entry in [lo, hi) is a membership change (scans the unapplied window only). */
  hasConfChangeIn(lo: number, hi: number): boolean {
    // Entries compacted away were applied by the driver already (it compacts applied entries).
    const from = Math.max(lo, this.firstIndex());
    if (from >= hi) return false;
    return this.slice(from, hi, Infinity).some((entry) => entry.type === 'confChange');
  }
}
