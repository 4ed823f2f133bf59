/**
 * ReadIndex (thesis §6.4): a leader answers a linearizable read with its commit index once a
 * heartbeat round shows a majority still follows it — so no newer leader can have committed
 * anything it does not know of. The requester serves the read after applying up to that index.
 *
 * Each request gets a key unique within the leader's term; heartbeats carry the newest key as
 * their context and followers echo it back. A quorum of echoes of one key also confirms every
 * request registered before it (leadership was intact at a later moment).
 */
import type { NodeId } from '../types.js';

export interface ReadRequest {
  /** The node that asked (the leader itself for local reads). */
  readonly from: NodeId;
  /** The requester's opaque context, returned with the answer. */
  readonly context: string;
}

export interface PendingRead {
  readonly key: string;
  /** The leader's commit index when the request arrived: the read index. */
  readonly index: number;
  readonly request: ReadRequest;
  readonly acks: Set<NodeId>;
}

export class ReadOnly {
  private readonly pending = new Map<string, PendingRead>();
  /** Keys in arrival order. */
  private queue: string[] = [];
  private nextKey = 1;

  /** Registers a read at `index`; returns the key its heartbeat round carries. */
  add(index: number, request: ReadRequest): string {
    const key = String(this.nextKey++);
    this.pending.set(key, { key, index, request, acks: new Set() });
    this.queue.push(key);
    return key;
  }

  /** Records `from`'s acknowledgement of round `key`; returns all so far (undefined: unknown). */
  ack(key: string, from: NodeId): ReadonlySet<NodeId> | undefined {
    const read = this.pending.get(key);
    read?.acks.add(from);
    return read?.acks;
  }

  /** Removes and returns the reads up to and including `key`, oldest first. */
  releaseThrough(key: string): PendingRead[] {
    const position = this.queue.indexOf(key);
    if (position < 0) return [];
    const released = this.queue.slice(0, position + 1).map((k) => this.pending.get(k)!);
    this.queue = this.queue.slice(position + 1);
    for (const read of released) this.pending.delete(read.key);
    return released;
  }

  /** The newest pending key, for heartbeats to carry ('' when none). */
  newestKey(): string {
    return this.queue[this.queue.length - 1] ?? '';
  }
}
