/**
 * Group commit for the store: `writeMany` and `readDigests` calls on one shard that arrive in
 * the same turn of the event loop (concurrent client requests, a batch of replica calls) are
 * merged into one call of the inner store — one Redis script call instead of one per request,
 * which is where a busy node's storage time went. Each caller still gets exactly its own
 * outcomes, in its order; each write stays atomic on its own (the contract promises no more).
 *
 * Flushed with `setImmediate`, i.e. after every microtask of the current turn, so callers that
 * reach the store through a few awaits still meet in one batch; the cost is one loop turn of
 * latency. Batches respect the store's limits (split when larger).
 */
import { TurnQueues } from '../common/turn-queues.js';
import { ForwardingStore } from './forwarding-store.js';
import {
  STORE_LIMITS,
  type Digest,
  type ObjectStore,
  type ShardKey,
  type WriteOutcome,
  type WriteRequest,
} from './object-store.js';
import { assertDigestIds, assertShardKey, assertWriteBatch } from './validate.js';

interface Pending<I, O> {
  readonly items: readonly I[];
  readonly resolve: (outcomes: O[]) => void;
  readonly reject: (error: unknown) => void;
}

/** Per-shard queues of one operation, flushed together once per loop turn. */
class Coalescer<I, O> {
  private readonly queues = new TurnQueues<ShardKey, Pending<I, O>>((queues) => this.flush(queues));

  constructor(
    private readonly maxItems: number,
    private readonly run: (shard: ShardKey, items: I[]) => Promise<O[]>,
  ) {}

  submit(shard: ShardKey, items: readonly I[]): Promise<O[]> {
    return new Promise((resolve, reject) => {
      this.queues.add(shard, { items, resolve, reject });
    });
  }

  private flush(queues: [ShardKey, Pending<I, O>[]][]): void {
    for (const [shard, pending] of queues) {
      // Greedy groups under the store's limit; a single oversized caller goes alone (and gets
      // the store's own refusal).
      let group: Pending<I, O>[] = [];
      let size = 0;
      for (const p of pending) {
        if (group.length > 0 && size + p.items.length > this.maxItems) {
          void this.execute(shard, group);
          group = [];
          size = 0;
        }
        group.push(p);
        size += p.items.length;
      }
      if (group.length > 0) void this.execute(shard, group);
    }
  }

  private async execute(shard: ShardKey, group: Pending<I, O>[]): Promise<void> {
    if (group.length === 1) {
      const only = group[0]!;
      await this.run(shard, [...only.items]).then(only.resolve, only.reject);
      return;
    }
    try {
      const outcomes = await this.run(
        shard,
        group.flatMap((p) => p.items),
      );
      let offset = 0;
      for (const p of group) {
        p.resolve(outcomes.slice(offset, offset + p.items.length));
        offset += p.items.length;
      }
    } catch (error) {
      for (const p of group) p.reject(error);
    }
  }
}

export class CoalescingStore extends ForwardingStore {
  private readonly writes: Coalescer<WriteRequest, WriteOutcome>;
  private readonly digests: Coalescer<string, Digest | null>;

  constructor(inner: ObjectStore) {
    super(inner);
    this.writes = new Coalescer(STORE_LIMITS.maxBatchWrites, (shard, requests) =>
      inner.writeMany(shard, requests),
    );
    this.digests = new Coalescer(STORE_LIMITS.maxDigestIds, (shard, ids) =>
      inner.readDigests(shard, ids),
    );
  }

  override async write(shard: ShardKey, request: WriteRequest): Promise<WriteOutcome> {
    const [outcome] = await this.writeMany(shard, [request]);
    return outcome!;
  }

  // Each caller's input is checked before it joins a batch: one bad request must fail alone.
  override async writeMany(
    shard: ShardKey,
    requests: readonly WriteRequest[],
  ): Promise<WriteOutcome[]> {
    assertShardKey(shard);
    assertWriteBatch(requests);
    if (requests.length === 0) return [];
    return this.writes.submit(shard, requests);
  }

  override async readDigests(shard: ShardKey, ids: readonly string[]): Promise<(Digest | null)[]> {
    assertShardKey(shard);
    assertDigestIds(ids);
    if (ids.length === 0) return [];
    return this.digests.submit(shard, ids);
  }
}
