/**
 * Checking a `save()` before anything is written: every way the update could break the log or
 * Raft's rules is a StorageContractError (a bug in the caller), every exceeded limit a
 * StorageLimitError, and the result is a plan the storage then writes and applies.
 */
import type { ConfState, Entry, EntryType, HardState, RaftLogUpdate, Snapshot } from '../types.js';
import { SnapshotOutOfDateError, StorageContractError, StorageLimitError } from './errors.js';
import { MAX_ENTRIES_PER_SAVE, MAX_RECORD_BYTES } from './limits.js';
import { encodeBatch } from './payload-codec.js';
import { snapshotFileHeader } from './snapshot-files.js';

/**
 * What one `save()` persists (the shared RaftLogUpdate). Beyond its type: term and vote only
 * change as Raft allows (no second vote in a term); entries at or below the compaction point are
 * ignored; committed entries are never rewritten; a leader's snapshot replaces the whole log.
 */
export type StorageUpdate = RaftLogUpdate;

/** The durable state an update is checked against. */
export interface PlanBase {
  readonly snapshot: Snapshot;
  /** Index and term just before the log held in memory. */
  readonly offsetIndex: number;
  readonly offsetTerm: number;
  readonly log: readonly Entry[];
  readonly hardState: HardState;
  /** Term and vote as stored in the hard-state file. */
  readonly stored: Pick<HardState, 'term' | 'vote'>;
}

/** A validated save, ready to be written. */
export interface SavePlan {
  /** The leader's snapshot and its encoded file header. */
  readonly snapshot: { readonly value: Snapshot; readonly header: Buffer } | null;
  /** The entries to append (compacted ones dropped). */
  readonly entries: readonly Entry[];
  readonly hardState: HardState;
  /** The WAL batch payload, when the log or the commit index changes. */
  readonly record: Buffer | null;
  /** Where a segment started for this record would begin. */
  readonly nextIndex: number;
  readonly writeHardState: boolean;
}

const ENTRY_TYPES: readonly EntryType[] = ['normal', 'confChange'];

/** Checks `update` against `base` (the durable state) and plans its write; throws if invalid. */
export function planSave(base: PlanBase, update: StorageUpdate): SavePlan {
  const snapshot = update.snapshot ?? null;
  let offsetIndex = base.offsetIndex;
  let offsetTerm = base.offsetTerm;
  let log: readonly Entry[] = base.log;
  if (snapshot !== null) {
    assertSnapshot(snapshot);
    if (snapshot.metadata.index <= base.snapshot.metadata.index) {
      throw new SnapshotOutOfDateError(
        `snapshot at ${snapshot.metadata.index} received, the current one is at ${base.snapshot.metadata.index}`,
      );
    }
    if (snapshot.metadata.index < base.hardState.commit) {
      throw new StorageContractError(
        `snapshot at ${snapshot.metadata.index} is below the commit index ` +
          `${base.hardState.commit}: installing it would drop committed entries`,
      );
    }
    ({ index: offsetIndex, term: offsetTerm } = snapshot.metadata);
    log = [];
  }
  const lastBefore = offsetIndex + log.length;

  const incoming = update.entries ?? [];
  assertEntries(incoming);
  const entries = incoming.filter((entry) => entry.index > offsetIndex);
  const first = entries[0];
  if (first !== undefined) {
    if (first.index > lastBefore + 1) {
      throw new StorageContractError(
        `entries start at ${first.index}, leaving a gap after the last index ${lastBefore}`,
      );
    }
    const previousTerm =
      first.index - 1 === offsetIndex ? offsetTerm : log[first.index - offsetIndex - 2]!.term;
    if (first.term < previousTerm) {
      throw new StorageContractError(
        `entry ${first.index} has term ${first.term}, below the term ${previousTerm} before it`,
      );
    }
    // Raft never changes a committed entry: truncating one is a bug upstream.
    for (let index = first.index; index <= Math.min(lastBefore, base.hardState.commit); index++) {
      const replacement = entries[index - first.index];
      if (replacement?.term !== log[index - offsetIndex - 1]!.term) {
        throw new StorageContractError(`save would remove or change committed entry ${index}`);
      }
    }
  }
  const lastAfter = entries.at(-1)?.index ?? lastBefore;

  const proposed = update.hardState ?? base.hardState;
  assertHardState(proposed);
  const current = base.hardState;
  if (proposed.term < current.term) {
    throw new StorageContractError(`term goes back from ${current.term} to ${proposed.term}`);
  }
  if (proposed.term === current.term && current.vote !== null && proposed.vote !== current.vote) {
    throw new StorageContractError(
      `vote in term ${current.term} changes from ${current.vote} to ${proposed.vote}`,
    );
  }
  if (proposed.commit < current.commit) {
    throw new StorageContractError(`commit goes back from ${current.commit} to ${proposed.commit}`);
  }
  const newestTerm = Math.max(snapshot?.metadata.term ?? 0, ...entries.map((e) => e.term));
  if (newestTerm > proposed.term) {
    throw new StorageContractError(
      `term ${newestTerm} in the log is beyond the hard state's ${proposed.term}`,
    );
  }
  // A snapshot holds committed state: installing one commits up to its index.
  const commit = Math.max(proposed.commit, snapshot?.metadata.index ?? 0);
  if (commit > lastAfter) {
    throw new StorageContractError(`commit ${commit} is beyond the last index ${lastAfter}`);
  }
  const hardState: HardState = { term: proposed.term, vote: proposed.vote, commit };

  let record: Buffer | null = null;
  if (snapshot !== null || entries.length > 0 || commit !== current.commit) {
    const reset = snapshot === null ? null : { index: offsetIndex, term: offsetTerm };
    record = encodeBatch({ commit, reset, entries });
    if (record.length > MAX_RECORD_BYTES) {
      throw new StorageLimitError(
        `save of ${entries.length} entries encodes to ${record.length} bytes, above the ` +
          `${MAX_RECORD_BYTES}-byte record limit: send smaller batches`,
      );
    }
  }
  return {
    snapshot: snapshot === null ? null : { value: snapshot, header: snapshotFileHeader(snapshot) },
    entries,
    hardState,
    record,
    nextIndex: first?.index ?? lastBefore + 1,
    writeHardState: hardState.term !== base.stored.term || hardState.vote !== base.stored.vote,
  };
}

// ---- argument checks (contract errors, before any I/O) --------------------------------------------

function isIndex(value: unknown, min: number): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= min;
}

function assertEntries(entries: readonly Entry[]): void {
  if (!Array.isArray(entries)) throw new StorageContractError('entries must be an array');
  if (entries.length > MAX_ENTRIES_PER_SAVE) {
    throw new StorageLimitError(
      `save of ${entries.length} entries, above the limit of ${MAX_ENTRIES_PER_SAVE} per save`,
    );
  }
  let previous: Entry | undefined;
  for (const entry of entries) {
    if (!isIndex(entry.index, 1) || !isIndex(entry.term, 1)) {
      throw new StorageContractError(`entry with index ${entry.index} term ${entry.term}`);
    }
    if (!ENTRY_TYPES.includes(entry.type)) {
      throw new StorageContractError(`entry ${entry.index} has type ${String(entry.type)}`);
    }
    if (!Buffer.isBuffer(entry.data)) {
      throw new StorageContractError(`entry ${entry.index} data must be a Buffer`);
    }
    if (previous !== undefined && entry.index !== previous.index + 1) {
      throw new StorageContractError(
        `entries not contiguous: ${previous.index} then ${entry.index}`,
      );
    }
    if (previous !== undefined && entry.term < previous.term) {
      throw new StorageContractError(`term goes back at entry ${entry.index}`);
    }
    previous = entry;
  }
}

function assertHardState(state: HardState): void {
  if (
    !isIndex(state.term, 0) ||
    !isIndex(state.commit, 0) ||
    (state.vote !== null && (typeof state.vote !== 'string' || state.vote.length === 0))
  ) {
    throw new StorageContractError(`invalid hard state ${JSON.stringify(state)}`);
  }
}

export function assertConfState(confState: ConfState): void {
  const ids = [...confState.voters, ...confState.learners];
  if (!ids.every((id) => typeof id === 'string' && id.length > 0)) {
    throw new StorageContractError('conf state node ids must be non-empty strings');
  }
}

function assertSnapshot(snapshot: Snapshot): void {
  const { index, term, confState } = snapshot.metadata;
  if (!isIndex(index, 1) || !isIndex(term, 1)) {
    throw new StorageContractError(`snapshot with index ${index} term ${term}`);
  }
  assertConfState(confState);
  if (!Buffer.isBuffer(snapshot.data)) {
    throw new StorageContractError('snapshot data must be a Buffer');
  }
}
