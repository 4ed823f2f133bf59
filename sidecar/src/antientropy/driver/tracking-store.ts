/**
 * An ObjectStore that keeps the anti-entropy hash trees exact: every write and purge on a shard
 * is bracketed for the shard's TreeMaintainer (begin before the store call, end with the exact
 * previous and next digests after it). Every store user of the node goes through it — client
 * writes, repair-on-read, anti-entropy repairs and purges — so no change escapes the tree.
 *
 * A store call that fails has an unknown outcome: the tree is dropped and rebuilt rather than
 * guessed. Purges are refused (nothing purged) while a tree is building: a purge carries no
 * version the build could order against a scanned page.
 */
import { ForwardingStore } from '../../storage/forwarding-store.js';
import type {
  Digest,
  ObjectStore,
  PurgeRequest,
  ShardKey,
  WriteOutcome,
  WriteRequest,
} from '../../storage/object-store.js';
import { treeKeyOf } from '../entry-hash.js';
import type { TreeChange, WriteTicket } from '../tree-build.js';
import type { ShardTree, TreeRegistry } from './tree-registry.js';

export class TrackingStore extends ForwardingStore {
  constructor(
    inner: ObjectStore,
    private readonly registry: TreeRegistry,
  ) {
    super(inner);
  }

  override async write(shard: ShardKey, request: WriteRequest): Promise<WriteOutcome> {
    const [outcome] = await this.writeMany(shard, [request]);
    return outcome!;
  }

  override writeMany(shard: ShardKey, requests: readonly WriteRequest[]): Promise<WriteOutcome[]> {
    return this.registry.track(shard, async () => {
      let tree = this.registry.ensure(shard);
      let tickets: WriteTicket[] = [];
      try {
        tickets = tree ? requests.map(() => tree!.maintainer.beginWrite()) : [];
      } catch {
        // Too many writes open during the build: rebuild later rather than fail the write.
        this.registry.drop(shard, 'build_overflow');
        tree = null;
      }
      let outcomes: WriteOutcome[];
      try {
        outcomes = await this.inner.writeMany(shard, requests);
      } catch (error) {
        if (tree) this.registry.drop(shard, 'write_outcome_unknown');
        throw error;
      }
      if (tree && this.registry.get(shard) === tree) {
        outcomes.forEach((outcome, i) => {
          const id = requests[i]!.record.id;
          const change: TreeChange | null = outcome.applied
            ? { id, prev: outcome.previous ?? null, next: outcome.current }
            : null;
          this.end(tree, tickets[i]!, change);
        });
      }
      return outcomes;
    });
  }

  /** Purges one at a time, so exactly the removed tombstones leave the tree. */
  override purgeTombstones(shard: ShardKey, requests: readonly PurgeRequest[]): Promise<number> {
    return this.registry.track(shard, async () => {
      const tree = this.registry.get(shard);
      if (!tree?.maintainer.acceptsPurges) return 0;
      let removed = 0;
      for (const request of requests) {
        const ticket = tree.maintainer.beginWrite();
        let count: number;
        try {
          count = await this.inner.purgeTombstones(shard, [request]);
        } catch (error) {
          this.registry.drop(shard, 'write_outcome_unknown');
          throw error;
        }
        const prev: Digest = { id: request.id, version: request.version, deleted: true };
        if (this.registry.get(shard) !== tree) return removed + count;
        this.end(tree, ticket, count === 1 ? { id: request.id, prev, next: null } : null);
        removed += count;
      }
      return removed;
    });
  }

  private end(tree: ShardTree, ticket: WriteTicket, change: TreeChange | null): void {
    tree.maintainer.endWrite(ticket, change);
    if (change) tree.onChange?.(change.next, treeKeyOf(change.id));
  }
}
