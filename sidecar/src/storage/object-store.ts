/**
 * The storage contract for versioned objects and tombstones, shared by every back end.
 *
 * A store holds, per shard, records keyed by object id (a lowercase UUID string). A record is
 * either live (an opaque payload) or a tombstone (no payload). Every record carries the
 * version of the write that produced it; replication decides what to write, storage only
 * guarantees that conditional writes are atomic with respect to each other.
 *
 * Both implementations (in-memory and Redis) must pass the same contract suite
 * (sidecar/test/*storage-contract*), so callers can rely on exactly what is written here.
 */
import type { EncodedVersion } from '../versioning/version.js';

/** Identifies a shard replica's keyspace, e.g. `Article/shard-3` or `Article/tenantA`. */
export type ShardKey = string;

export interface StoredRecord {
  readonly id: string;
  readonly version: EncodedVersion;
  readonly deleted: boolean;
  /** The object's bytes; `null` exactly when `deleted`. */
  readonly payload: Buffer | null;
}

/** What anti-entropy and digest reads exchange: enough to compare, never the payload. */
export interface Digest {
  readonly id: string;
  readonly version: EncodedVersion;
  readonly deleted: boolean;
}

/**
 * When a write may apply:
 * - `ifNewer`: only if there is no record or the stored version is strictly older
 *   (last-write-wins; an equal version is a duplicate delivery and is not re-applied).
 * - `ifVersion`: only if the stored version equals `expected` (`null` = no record at all);
 *   compare-and-set for repair, so a concurrent newer write is never clobbered.
 */
export type WriteCondition =
  | { readonly kind: 'ifNewer' }
  | { readonly kind: 'ifVersion'; readonly expected: EncodedVersion | null };

export interface WriteRequest {
  readonly record: StoredRecord;
  readonly condition: WriteCondition;
}

export interface WriteOutcome {
  readonly applied: boolean;
  /** The record's digest after the call: the new one if applied, else what blocked it. */
  readonly current: Digest | null;
  /**
   * When applied: the record's digest just before this write (null = there was none), so an
   * observer (the anti-entropy hash tree) can account for exactly the change made.
   */
  readonly previous?: Digest | null;
}

export interface ScanPage<T> {
  readonly items: T[];
  /** Pass as `after` to continue; absent when the shard has no more records. */
  readonly nextAfter?: string;
}

export interface ScanOptions {
  /** Exclusive lower bound on id (byte order); omit to start at the beginning. */
  readonly after?: string;
  /** 1..MAX_SCAN_LIMIT. */
  readonly limit: number;
}

export interface ShardCount {
  readonly live: number;
  readonly tombstones: number;
}

export interface PurgeRequest {
  readonly id: string;
  /** Removed only if the stored record is still a tombstone with exactly this version. */
  readonly version: EncodedVersion;
}

/** Which back end a node uses and how to reach it (from STORE, REDIS_URL, STORAGE_TIMEOUT). */
export type StoreConfig =
  | { readonly kind: 'memory' }
  | {
      readonly kind: 'redis';
      readonly url: string;
      readonly commandTimeoutMs: number;
      readonly connectTimeoutMs: number;
    };

/** Explicit limits: callers must chunk larger work; stores reject anything beyond. */
export const STORE_LIMITS = {
  maxBatchWrites: 1000,
  maxDigestIds: 10_000,
  maxScanLimit: 10_000,
  maxPurge: 10_000,
  maxPayloadBytes: 16 * 1024 * 1024,
  maxShardKeyBytes: 256,
} as const;

export interface ObjectStore {
  /** Which back end, for logs and metrics labels. */
  readonly kind: 'memory' | 'redis';

  write(shard: ShardKey, request: WriteRequest): Promise<WriteOutcome>;
  /** Each request is atomic on its own; the batch is not a transaction. Outcomes in order. */
  writeMany(shard: ShardKey, requests: readonly WriteRequest[]): Promise<WriteOutcome[]>;

  read(shard: ShardKey, id: string): Promise<StoredRecord | null>;
  /** Digests for many ids, in the order asked; `null` for ids with no record. */
  readDigests(shard: ShardKey, ids: readonly string[]): Promise<(Digest | null)[]>;

  /** Records (tombstones included) in ascending id byte order. */
  scan(shard: ShardKey, options: ScanOptions): Promise<ScanPage<StoredRecord>>;
  /** Like `scan` without payloads: for building hash trees and listing diffs cheaply. */
  scanDigests(shard: ShardKey, options: ScanOptions): Promise<ScanPage<Digest>>;

  /** How many live records and tombstones a shard holds (O(1): kept with every write). */
  count(shard: ShardKey): Promise<ShardCount>;

  /** Removes tombstones that still have the given version; returns how many were removed. */
  purgeTombstones(shard: ShardKey, requests: readonly PurgeRequest[]): Promise<number>;

  /** Throws `StorageUnavailableError` unless the back end answers now. */
  ping(): Promise<void>;
  /**
   * Registers `listener` for "the back end was replaced under us" (Redis restarted: a new run
   * id): it may have lost acknowledged writes, so anything derived from its contents (hash
   * trees, tombstone confirmations) must be rebuilt. Called before any command's reply from the
   * new server reaches its caller. Never called by a store that cannot be replaced.
   */
  onReplaced(listener: (detail: string) => void): void;
  /**
   * True while the back end is connected and known to be the one whose contents this process
   * has been tracking (for Redis: its identity checked since the last reconnection). Anything
   * that vouches for the store's contents to others (anti-entropy) waits while it is false.
   */
  identified(): boolean;
  close(): Promise<void>;
}

/** The back end cannot be reached or did not answer in time. Retryable. */
export class StorageUnavailableError extends Error {
  override readonly name = 'StorageUnavailableError';
}

/** The caller broke the contract (bad id, oversized batch, payload/deleted mismatch, …). */
export class StorageRequestError extends Error {
  override readonly name = 'StorageRequestError';
}
