/**
 * The part of the log not yet known to be durable (etcd's `unstable`): entries appended since the
 * last persisted one and, after a snapshot arrived from the leader, that snapshot. They reach the
 * driver through Ready.entries/Ready.snapshot and leave here when advance() confirms the write.
 *
 * `entries[i]` has index `offset + i`. Entries below `offsetInProgress`, and the snapshot when
 * `snapshotInProgress`, have been handed out in the outstanding Ready: not handed out twice.
 */
import type { Entry, Snapshot } from '../types.js';
import { invariant } from './errors.js';

export class UnstableLog {
  snapshot: Snapshot | null = null;
  private snapshotInProgress = false;
  private entries: Entry[] = [];
  private offset: number;
  private offsetInProgress: number;

  constructor(offset: number) {
    this.offset = offset;
    this.offsetInProgress = offset;
  }

  /** The first index after the unstable snapshot, if there is one. */
  firstIndex(): number | undefined {
    return this.snapshot ? this.snapshot.metadata.index + 1 : undefined;
  }

  lastIndex(): number | undefined {
    if (this.entries.length > 0) return this.offset + this.entries.length - 1;
    return this.snapshot?.metadata.index;
  }

  /** The term at `index` if this part of the log knows it. */
  term(index: number): number | undefined {
    if (index >= this.offset) return this.entries[index - this.offset]?.term;
    const meta = this.snapshot?.metadata;
    return meta?.index === index ? meta.term : undefined;
  }

  /** The first index held here (everything below it is in storage). */
  get firstEntryIndex(): number {
    return this.offset;
  }

  nextEntries(): Entry[] {
    return this.entries.slice(this.offsetInProgress - this.offset);
  }

  nextSnapshot(): Snapshot | null {
    return this.snapshotInProgress ? null : this.snapshot;
  }

  /** Everything currently here has been handed to the driver in a Ready. */
  acceptInProgress(): void {
    this.offsetInProgress = this.offset + this.entries.length;
    this.snapshotInProgress = this.snapshot !== null;
  }

  /**
   * The driver persisted entries up to (`index`, `term`). If a conflicting append replaced that
   * entry meanwhile, what was persisted is not what the log holds now: keep everything, the
   * replacing entries are handed out in the next Ready and their advance() releases both.
   */
  stableTo(index: number, term: number): void {
    if (index < this.offset || this.term(index) !== term) return;
    this.entries = this.entries.slice(index + 1 - this.offset);
    this.offset = index + 1;
    this.offsetInProgress = Math.max(this.offsetInProgress, this.offset);
  }

  stableSnapshotTo(index: number): void {
    if (this.snapshot?.metadata.index !== index) return;
    this.snapshot = null;
    this.snapshotInProgress = false;
  }

  /** Replace the whole log with a snapshot received from the leader. */
  restore(snapshot: Snapshot): void {
    this.snapshot = snapshot;
    this.snapshotInProgress = false;
    this.entries = [];
    this.offset = snapshot.metadata.index + 1;
    this.offsetInProgress = this.offset;
  }

  /** Appends `entries`, dropping whatever they overwrite (the caller checked it is uncommitted). */
  truncateAndAppend(entries: readonly Entry[]): void {
    const from = entries[0]?.index;
    if (from === undefined) return;
    invariant(
      !this.snapshot || from > this.snapshot.metadata.index,
      () => `append at ${from} would overwrite the unstable snapshot`,
    );
    if (from === this.offset + this.entries.length) {
      this.entries = [...this.entries, ...entries];
    } else if (from <= this.offset) {
      // Replaces everything here and part of storage: the next Ready rewrites from `from`.
      this.entries = [...entries];
      this.offset = from;
      this.offsetInProgress = from;
    } else {
      this.entries = [...this.entries.slice(0, from - this.offset), ...entries];
      this.offsetInProgress = Math.min(this.offsetInProgress, from);
    }
  }

  /** Entries in [lo, hi), which must lie within this part of the log. */
  slice(lo: number, hi: number): Entry[] {
    invariant(
      this.offset <= lo && lo <= hi && hi <= this.offset + this.entries.length,
      () =>
        `unstable slice [${lo}, ${hi}) outside ` +
        `[${this.offset}, ${this.offset + this.entries.length})`,
    );
    return this.entries.slice(lo - this.offset, hi - this.offset);
  }
}
