/**
 * A store that hands every call to another: the base of decorators that change a few operations
 * (group commit, hash-tree tracking) and must pass the rest through untouched.
 */
import type {
  Digest,
  ObjectStore,
  PurgeRequest,
  ScanOptions,
  ScanPage,
  ShardCount,
  ShardKey,
  StoredRecord,
  WriteOutcome,
  WriteRequest,
} from './object-store.js';

export class ForwardingStore implements ObjectStore {
  readonly kind: ObjectStore['kind'];

  constructor(protected readonly inner: ObjectStore) {
    this.kind = inner.kind;
  }

  write(shard: ShardKey, request: WriteRequest): Promise<WriteOutcome> {
    return this.inner.write(shard, request);
  }

  writeMany(shard: ShardKey, requests: readonly WriteRequest[]): Promise<WriteOutcome[]> {
    return this.inner.writeMany(shard, requests);
  }

  read(shard: ShardKey, id: string): Promise<StoredRecord | null> {
    return this.inner.read(shard, id);
  }

  readDigests(shard: ShardKey, ids: readonly string[]): Promise<(Digest | null)[]> {
    return this.inner.readDigests(shard, ids);
  }

  scan(shard: ShardKey, options: ScanOptions): Promise<ScanPage<StoredRecord>> {
    return this.inner.scan(shard, options);
  }

  scanDigests(shard: ShardKey, options: ScanOptions): Promise<ScanPage<Digest>> {
    return this.inner.scanDigests(shard, options);
  }

  count(shard: ShardKey): Promise<ShardCount> {
    return this.inner.count(shard);
  }

  purgeTombstones(shard: ShardKey, requests: readonly PurgeRequest[]): Promise<number> {
    return this.inner.purgeTombstones(shard, requests);
  }

  ping(): Promise<void> {
    return this.inner.ping();
  }

  onReplaced(listener: (detail: string) => void): void {
    this.inner.onReplaced(listener);
  }

  identified(): boolean {
    return this.inner.identified();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
