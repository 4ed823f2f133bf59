/**
 * Hard limits of the durable Raft storage. Exceeding one is a `StorageLimitError` at the call
 * that would exceed it (before any I/O), never a silent split or truncation: the driver bounds
 * its batches (max bytes per append message, snapshot every N entries) well below these.
 */

const MIB = 1024 * 1024;

/**
 * Largest WAL record payload. One `save()` is one record (see durable-storage.ts for why), so
 * this also bounds the encoded entries of one save.
 */
export const MAX_RECORD_BYTES = 64 * MIB;

/** Most entries one `save()` may carry. */
export const MAX_ENTRIES_PER_SAVE = 10_000;

/** Largest state-machine snapshot (`Snapshot.data`); the metadata store is far smaller. */
export const MAX_SNAPSHOT_BYTES = 1024 * MIB;

/** Largest small record: a segment header, the hard state, a snapshot's metadata. */
export const MAX_METADATA_BYTES = 1 * MIB;

/** A segment is sealed and a new one started once the next record would take it past this. */
export const DEFAULT_SEGMENT_BYTES = 64 * MIB;
export const MIN_SEGMENT_BYTES = 1024;
export const MAX_SEGMENT_BYTES = 1024 * MIB;

/** Snapshot files kept on disk: the newest one plus one fallback. */
export const SNAPSHOTS_KEPT = 2;
