/**
 * The embedded development store: everything in process memory, nothing durable.
 *
 * Every method does all its work synchronously between two awaits, so each call is atomic
 * with respect to every other call (JavaScript's single thread is the lock). Payload buffers
 * are copied on the way in and on the way out: callers can reuse or mutate their buffers, and
 * can never reach into stored state.
 */
import { compareEncodedVersions, type EncodedVersion } from '../versioning/version.js';
import {
  StorageUnavailableError,
  type Digest,
  type ObjectStore,
  type PurgeRequest,
  type ScanOptions,
  type ScanPage,
  type ShardCount,
  type ShardKey,
  type StoredRecord,
  type WriteOutcome,
  type WriteRequest,
} from './object-store.js';
import { SortedKeyIndex } from './sorted-key-index.js';
import {
  assertDigestIds,
  assertObjectId,
  assertPurgeBatch,
  assertScanOptions,
  assertShardKey,
  assertWriteBatch,
  assertWriteRequest,
} from './validate.js';

interface Entry {
  readonly version: EncodedVersion;
  readonly deleted: boolean;
  readonly payload: Buffer | null;
}

/** One shard's records plus the ordered index that scans walk. Both always hold the same ids. */
interface ShardState {
  readonly entries: Map<string, Entry>;
  readonly ids: SortedKeyIndex;
  /** Records that are not tombstones. */
  live: number;
}

export class MemoryStore implements ObjectStore {
  readonly kind = 'memory' as const;
  private readonly shards = new Map<ShardKey, ShardState>();
  private closed = false;

  async write(shard: ShardKey, request: WriteRequest): Promise<WriteOutcome> {
    this.assertOpen();
    assertShardKey(shard);
    assertWriteRequest(request);
    return this.applyWrite(shard, request);
  }

  async writeMany(shard: ShardKey, requests: readonly WriteRequest[]): Promise<WriteOutcome[]> {
    this.assertOpen();
    assertShardKey(shard);
    assertWriteBatch(requests);
    return requests.map((request) => this.applyWrite(shard, request));
  }

  async read(shard: ShardKey, id: string): Promise<StoredRecord | null> {
    this.assertOpen();
    assertShardKey(shard);
    assertObjectId(id);
    const entry = this.shards.get(shard)?.entries.get(id);
    return entry === undefined ? null : toRecord(id, entry);
  }

  async readDigests(shard: ShardKey, ids: readonly string[]): Promise<(Digest | null)[]> {
    this.assertOpen();
    assertShardKey(shard);
    assertDigestIds(ids);
    const entries = this.shards.get(shard)?.entries;
    return ids.map((id) => {
      const entry = entries?.get(id);
      return entry === undefined ? null : toDigest(id, entry);
    });
  }

  async scan(shard: ShardKey, options: ScanOptions): Promise<ScanPage<StoredRecord>> {
    return this.page(shard, options, toRecord);
  }

  async scanDigests(shard: ShardKey, options: ScanOptions): Promise<ScanPage<Digest>> {
    return this.page(shard, options, toDigest);
  }

  async purgeTombstones(shard: ShardKey, requests: readonly PurgeRequest[]): Promise<number> {
    this.assertOpen();
    assertShardKey(shard);
    assertPurgeBatch(requests);
    const state = this.shards.get(shard);
    if (state === undefined) return 0;
    let removed = 0;
    for (const { id, version } of requests) {
      const entry = state.entries.get(id);
      if (entry === undefined || !entry.deleted || entry.version !== version) continue;
      state.entries.delete(id);
      state.ids.delete(id);
      removed++;
    }
    // An emptied shard is forgotten entirely, so purged shards do not accumulate.
    if (state.entries.size === 0) this.shards.delete(shard);
    return removed;
  }

  async count(shard: ShardKey): Promise<ShardCount> {
    this.assertOpen();
    assertShardKey(shard);
    const state = this.shards.get(shard);
    if (state === undefined) return { live: 0, tombstones: 0 };
    return { live: state.live, tombstones: state.entries.size - state.live };
  }

  /** Lives and dies with this process: never replaced under its users. */
  onReplaced(): void {}

  identified(): boolean {
    return !this.closed;
  }

  async ping(): Promise<void> {
    this.assertOpen();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.shards.clear();
  }

  private applyWrite(shard: ShardKey, { record, condition }: WriteRequest): WriteOutcome {
    const state = this.shardState(shard);
    const current = state.entries.get(record.id);
    const allowed =
      condition.kind === 'ifNewer'
        ? current === undefined || compareEncodedVersions(current.version, record.version) < 0
        : (current?.version ?? null) === condition.expected;
    if (!allowed) {
      if (state.entries.size === 0) this.shards.delete(shard); // created for nothing
      return {
        applied: false,
        current: current === undefined ? null : toDigest(record.id, current),
      };
    }
    const entry: Entry = {
      version: record.version,
      deleted: record.deleted,
      payload: record.payload === null ? null : Buffer.from(record.payload),
    };
    state.entries.set(record.id, entry);
    if (current === undefined) state.ids.add(record.id);
    state.live += Number(!record.deleted) - Number(current !== undefined && !current.deleted);
    return {
      applied: true,
      current: toDigest(record.id, entry),
      previous: current === undefined ? null : toDigest(record.id, current),
    };
  }

  private page<T>(
    shard: ShardKey,
    options: ScanOptions,
    project: (id: string, entry: Entry) => T,
  ): ScanPage<T> {
    this.assertOpen();
    assertShardKey(shard);
    assertScanOptions(options);
    const state = this.shards.get(shard);
    if (state === undefined) return { items: [] };
    // One key beyond the page tells whether anything follows, so the last page has no cursor.
    const ids = state.ids.keysAfter(options.after, options.limit + 1);
    const hasMore = ids.length > options.limit;
    if (hasMore) ids.pop();
    const items = ids.map((id) => {
      const entry = state.entries.get(id);
      if (entry === undefined) throw new Error(`memory store: index holds ${id} without a record`);
      return project(id, entry);
    });
    const last = ids[ids.length - 1];
    return hasMore && last !== undefined ? { items, nextAfter: last } : { items };
  }

  private shardState(shard: ShardKey): ShardState {
    let state = this.shards.get(shard);
    if (state === undefined) {
      state = { entries: new Map(), ids: new SortedKeyIndex(), live: 0 };
      this.shards.set(shard, state);
    }
    return state;
  }

  private assertOpen(): void {
    if (this.closed) throw new StorageUnavailableError('memory store is closed');
  }
}

function toDigest(id: string, entry: Entry): Digest {
  return { id, version: entry.version, deleted: entry.deleted };
}

function toRecord(id: string, entry: Entry): StoredRecord {
  return {
    id,
    version: entry.version,
    deleted: entry.deleted,
    payload: entry.payload === null ? null : Buffer.from(entry.payload),
  };
}
