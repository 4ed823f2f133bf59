/**
 * The data Raft works on, shared by the pure core (`core/`), the durable storage (`storage/`)
 * and the driver that connects them to the peer mesh. Indices and terms start at 1; 0 means
 * "none" (the empty log has last index 0 and term 0).
 */

/** Node ids are node names (pod names), never addresses. */
export type NodeId = string;

export type EntryType = 'normal' | 'confChange';

export interface Entry {
  readonly term: number;
  readonly index: number;
  readonly type: EntryType;
  /**
   * Opaque to Raft. `normal`: a state-machine command (empty for the no-op a new leader appends).
   * `confChange`: an encoded ConfChange (see `encodeConfChange`).
   */
  readonly data: Buffer;
}

/** What must be durable before any message that depends on it is sent. */
export interface HardState {
  readonly term: number;
  readonly vote: NodeId | null;
  readonly commit: number;
}

export interface ConfState {
  readonly voters: readonly NodeId[];
  /** Non-voting members: receive the log, do not vote or count for quorum. */
  readonly learners: readonly NodeId[];
}

/** Single-server membership changes (one at a time; see core for the safety rules). */
export type ConfChange =
  | { readonly type: 'addVoter'; readonly node: NodeId }
  | { readonly type: 'addLearner'; readonly node: NodeId }
  | { readonly type: 'removeNode'; readonly node: NodeId };

export interface SnapshotMetadata {
  /** Last entry included in the snapshot. */
  readonly index: number;
  readonly term: number;
  /** Membership as of `index`. */
  readonly confState: ConfState;
}

export interface Snapshot {
  readonly metadata: SnapshotMetadata;
  /** The state machine's serialized state as of `metadata.index`. */
  readonly data: Buffer;
}

export const EMPTY_HARD_STATE: HardState = { term: 0, vote: null, commit: 0 };
export const EMPTY_CONF_STATE: ConfState = { voters: [], learners: [] };

/**
 * Read access to the stable (already persisted) log, as the core sees it — the shape of
 * etcd-raft's Storage interface. Synchronous: implementations keep the live part of the log in
 * memory (the metadata log is small and compacted by snapshots); durable ones do their file I/O
 * in their own async mutation methods, which the driver calls before advancing the core.
 *
 * Invariants: firstIndex() - 1 ≤ snapshot index (equal right after a restart or compaction;
 * taking a snapshot does not compact by itself); lastIndex() ≥ firstIndex() - 1;
 * term(firstIndex() - 1) is answered.
 */
export interface RaftStorage {
  initialState(): { hardState: HardState; confState: ConfState };
  /** Entries in [lo, hi), at most `maxBytes` of data (always at least one entry if any). */
  entries(lo: number, hi: number, maxBytes?: number): Entry[];
  /** Term of the entry at `index`; throws CompactedError below the snapshot, UnavailableError past the end. */
  term(index: number): number;
  firstIndex(): number;
  lastIndex(): number;
  snapshot(): Snapshot;
}

/** What one durable write persists; applied in this order: snapshot, entries, hard state. */
export interface RaftLogUpdate {
  readonly hardState?: HardState;
  /** Contiguous; the first may be at or below the last index: the log is truncated there first. */
  readonly entries?: readonly Entry[];
  /** A snapshot from the leader: replaces the whole log. */
  readonly snapshot?: Snapshot;
}

/**
 * The durable log as the driver uses it: the core's read interface plus writes that resolve
 * only once durable (implemented by raft/storage's DurableRaftStorage).
 */
export interface DurableRaftLog extends RaftStorage {
  save(update: RaftLogUpdate): Promise<void>;
  /** A snapshot of the state machine at an applied index (does not compact). */
  createSnapshot(index: number, confState: ConfState, data: Buffer): Promise<Snapshot>;
  /** Drops entries up to `index` (at most the snapshot index). */
  compact(index: number): Promise<void>;
}

/** The requested index was compacted into a snapshot. */
export class CompactedError extends Error {
  override readonly name = 'CompactedError';
}

/** The requested index is past the end of the log. */
export class UnavailableError extends Error {
  override readonly name = 'UnavailableError';
}

export function encodeConfChange(change: ConfChange): Buffer {
  return Buffer.from(JSON.stringify(change));
}

export function decodeConfChange(data: Buffer): ConfChange {
  const parsed = JSON.parse(data.toString('utf8')) as ConfChange;
  if (
    !['addVoter', 'addLearner', 'removeNode'].includes(parsed.type) ||
    typeof parsed.node !== 'string'
  ) {
    throw new Error(`invalid conf change: ${data.toString('utf8')}`);
  }
  return parsed;
}
