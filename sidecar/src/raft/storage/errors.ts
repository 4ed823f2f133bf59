/** Errors of the durable Raft storage. Each says what to do about it, not only what happened. */

/**
 * The files in the data directory are damaged in a way that could lose acknowledged or
 * committed data if ignored, so start-up stops. Nothing was modified on disk. The operator's
 * remedy: wipe the node's data directory and let it re-sync from the leader (it rejoins as an
 * empty follower and receives a snapshot).
 */
export class StorageCorruptionError extends Error {
  override readonly name = 'StorageCorruptionError';

  constructor(
    message: string,
    /** The damaged file (a name inside the data directory), when one file is to blame. */
    readonly file?: string,
    /** Byte offset of the damage inside `file`. */
    readonly offset?: number,
  ) {
    const where =
      file === undefined ? '' : ` [${file}${offset === undefined ? '' : ` @${offset}`}]`;
    super(`${message}${where}; the node's data directory must be wiped and re-synced`);
  }
}

/** A request exceeds one of the limits in limits.ts. Nothing was written. */
export class StorageLimitError extends Error {
  override readonly name = 'StorageLimitError';
}

/**
 * The caller broke the storage contract (a gap in the log, a second vote in one term, a commit
 * index going backwards, ...). Always a bug in the caller; nothing was written.
 */
export class StorageContractError extends Error {
  override readonly name = 'StorageContractError';
}

/** `createSnapshot` or `save({ snapshot })` at or below the index of the current snapshot. */
export class SnapshotOutOfDateError extends Error {
  override readonly name = 'SnapshotOutOfDateError';
}

/**
 * An earlier write or fsync failed, so what is on disk is unknown (after a failed fsync the
 * kernel may have dropped the dirty pages: retrying cannot make them durable). Every later
 * mutation fails with this; the process must restart, and recovery repairs the log.
 */
export class StorageFailedError extends Error {
  override readonly name = 'StorageFailedError';
}

/** An impossible state: a bug in this module. */
export function invariant(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(`raft storage invariant violated: ${message}`);
}
