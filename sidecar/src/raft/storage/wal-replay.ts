/**
 * Rebuilds the log from WAL batches, replayed in log order starting at whichever segment is the
 * oldest one still on disk.
 *
 * A batch "truncate from its first index, then append" (or "reset to a snapshot, then append")
 * is applied literally. Old segments are deleted by compaction, so replay usually starts in the
 * middle of the history, where the log below the first batch is unknown and a later batch may
 * truncate below what replay has seen. The replayed log is therefore kept as "a suffix of the
 * true log": entries [start, start + n) plus whether anything below is known (`anchor`, set by a
 * reset). Invariant: after every batch, the replayed entries equal the true log's entries at the
 * same indices and end where it ends (or nothing is known yet). So any prefix of the segments may
 * be missing; `finish` then checks that the suffix reaches down to the snapshot — otherwise
 * entries the state needs are gone, which is corruption, never silently accepted.
 */
import type { Entry } from '../types.js';
import type { WalBatch } from './payload-codec.js';

/** The batches contradict each other or the snapshot: the log cannot be rebuilt. */
export class ReplayError extends Error {
  override readonly name = 'ReplayError';
}

export interface ReplayResult {
  /** The log after the snapshot: entries with index > snapshot index, contiguous. */
  readonly entries: Entry[];
  /** For each entry, the seq of the segment holding it (what compaction may delete). */
  readonly sources: number[];
  /** The commit index of the last batch or segment header seen. */
  readonly commit: number;
  /**
   * Entries dropped because the log's entry at the snapshot index has another term than the
   * snapshot: a crash after a leader's snapshot was stored but before the log reset was.
   */
  readonly divergent: { readonly dropped: number; readonly term: number } | null;
}

export class WalReplay {
  /** Index of entries[0], or where it would be; null while nothing is known. */
  private start: number | null = null;
  private readonly entries: Entry[] = [];
  private readonly sources: number[] = [];
  /** The last reset to a leader's snapshot: nothing below it matters. */
  private anchor: { readonly index: number; readonly term: number } | null = null;
  private commit = 0;

  /** Commit indexes only move forward: each record carries the current one. */
  observeCommit(commit: number): void {
    if (commit < this.commit) {
      throw new ReplayError(`commit index goes back from ${this.commit} to ${commit}`);
    }
    this.commit = commit;
  }

  apply(batch: WalBatch, source: number): void {
    this.observeCommit(batch.commit);
    if (batch.reset !== null) {
      this.start = batch.reset.index + 1;
      this.entries.length = 0;
      this.sources.length = 0;
      this.anchor = batch.reset;
    }
    const first = batch.entries[0];
    if (first === undefined) return;
    if (this.start === null) {
      this.start = first.index;
    } else {
      const last = this.start + this.entries.length - 1;
      if (first.index > last + 1) {
        throw new ReplayError(`batch starts at index ${first.index} but the log ends at ${last}`);
      }
      if (first.index < this.start) {
        if (this.anchor !== null) {
          throw new ReplayError(
            `batch starts at index ${first.index}, below the snapshot reset at ${this.anchor.index}`,
          );
        }
        // Truncates below what replay has seen: what lies below is unknown again.
        this.start = first.index;
        this.entries.length = 0;
        this.sources.length = 0;
      } else {
        this.entries.length = first.index - this.start;
        this.sources.length = first.index - this.start;
      }
    }
    for (const entry of batch.entries) {
      this.entries.push(entry);
      this.sources.push(source);
    }
  }

  /** The log above a snapshot at (`index`, `term`); throws ReplayError if it cannot be had. */
  finish(index: number, term: number): ReplayResult {
    const empty = { entries: [], sources: [], commit: this.commit, divergent: null };
    if (this.start === null) return empty;
    const start = this.start;
    const last = start + this.entries.length - 1;
    if (this.anchor !== null && this.anchor.index > index) {
      throw new ReplayError(
        `the log was reset to a leader snapshot at index ${this.anchor.index}, ` +
          `but the newest usable snapshot is at index ${index}`,
      );
    }
    if (this.anchor?.index === index && this.anchor.term !== term) {
      throw new ReplayError(
        `the log was reset to term ${this.anchor.term} at index ${index}, the snapshot has term ${term}`,
      );
    }
    const atSnapshot = index >= start && index <= last ? this.entries[index - start] : undefined;
    if (atSnapshot !== undefined && atSnapshot.term !== term) {
      return { ...empty, divergent: { dropped: last - index, term: atSnapshot.term } };
    }
    if (last > index && start > index + 1) {
      throw new ReplayError(
        `entries ${index + 1}..${start - 1} are missing between the snapshot at index ${index} ` +
          `and the oldest WAL segment on disk`,
      );
    }
    const from = Math.max(0, index + 1 - start);
    const entries = this.entries.slice(from);
    let previous = term;
    for (const entry of entries) {
      if (entry.term < previous) {
        throw new ReplayError(`term goes back from ${previous} to ${entry.term} at ${entry.index}`);
      }
      previous = entry.term;
    }
    return { entries, sources: this.sources.slice(from), commit: this.commit, divergent: null };
  }
}
