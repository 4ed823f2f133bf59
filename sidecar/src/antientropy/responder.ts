/**
 * The answering side of anti-entropy, pure: given our trees (and, for listings, our entries),
 * answer a peer's roots / digests / entries request. The I/O layer decodes a request with
 * `parseMessage`, calls one of these, and sends the reply back.
 *
 * Listing entries in tree order needs either an index ordered by (tree key, id) — `TreeOrderIndex`
 * here, a Redis sorted set with score = tree key in production — or a full scan of the shard
 * through `EntriesCollector`, which keeps only the `limit` smallest matches (bounded memory,
 * O(n log limit) per request). The initiator lists its own entries with the same code.
 */
import type { Digest } from '../storage/object-store.js';
import {
  HASH_BYTES,
  compareTreeOrder,
  nodeAtLevel,
  treeKeyOf,
  type TreeCursor,
} from './entry-hash.js';
import type { HashTree } from './hash-tree.js';
import {
  AE_LIMITS,
  ProtocolError,
  decodeCursor,
  decodeNodeList,
  encodeCursor,
  packEntries,
  type DigestsReply,
  type DigestsRequest,
  type EntriesReply,
  type EntriesRequest,
  type ErrorReply,
  type RootStatus,
  type RootsReply,
  type RootsRequest,
} from './messages.js';

/** What a node knows about one of its shard replicas' trees. */
export type LocalTreeState =
  { readonly state: 'ready'; readonly tree: HashTree } | { readonly state: 'not-ready' };

export function badRequest(message: string): ErrorReply {
  return { kind: 'error', code: 'bad-request', message };
}

/** Compares each root in the request with ours; `lookup` returns undefined for unknown shards. */
export function answerRoots(
  request: RootsRequest,
  lookup: (shard: string) => LocalTreeState | undefined,
  incarnation: string,
): RootsReply {
  const statuses = request.shards.map((summary): RootStatus => {
    const local = lookup(summary.shard);
    if (local === undefined) return { shard: summary.shard, state: 'unknown' };
    if (local.state !== 'ready') return { shard: summary.shard, state: 'not-ready' };
    const tree = local.tree;
    // Equal: the initiator already has the root, so the status is all it needs (an idle cycle
    // over many shards is dominated by these statuses).
    if (tree.nodeEquals(0, 0, summary.root, 0)) return { shard: summary.shard, state: 'equal' };
    return { shard: summary.shard, state: 'differ', height: tree.height, root: tree.root() };
  });
  return { kind: 'roots-reply', incarnation, statuses };
}

/** The digests of the requested descendants, from our tree. */
export function answerDigests(tree: HashTree, request: DigestsRequest): DigestsReply | ErrorReply {
  try {
    const target = request.level + request.depth;
    if (target > tree.height) {
      return badRequest(`level ${target} is below this replica's tree height ${tree.height}`);
    }
    const fanout = 2 ** request.depth;
    const parents = decodeNodeList(
      request.parents,
      request.level,
      Math.floor(AE_LIMITS.maxDigestsPerMessage / fanout),
    );
    const out = new Uint8Array(parents.length * fanout * HASH_BYTES);
    parents.forEach((parent, i) => {
      tree.writeDigests(target, parent * fanout, fanout, out, i * fanout * HASH_BYTES);
    });
    return { kind: 'digests-reply', digests: out };
  } catch (error) {
    if (error instanceof ProtocolError) return badRequest(error.message);
    throw error;
  }
}

/** A validated entries request, ready to filter entries with. */
export class EntriesQuery {
  readonly level: number;
  readonly nodes: readonly number[];
  private readonly nodeSet: ReadonlySet<number>;
  readonly after: TreeCursor | null;
  readonly limit: number;

  constructor(request: EntriesRequest, maxLevel: number) {
    if (request.level > maxLevel) {
      throw new ProtocolError(
        `level ${request.level} is below this replica's tree height ${maxLevel}`,
      );
    }
    this.level = request.level;
    this.nodes = decodeNodeList(request.nodes, request.level, AE_LIMITS.maxNodesPerRequest);
    this.nodeSet = new Set(this.nodes);
    this.after = request.after === null ? null : decodeCursor(request.after);
    this.limit = request.limit;
  }

  /** The entry's cursor if it belongs in this listing, else null. */
  admit(entry: Digest, key = treeKeyOf(entry.id)): TreeCursor | null {
    if (!this.nodeSet.has(nodeAtLevel(key, this.level))) return null;
    const cursor = { key, id: entry.id };
    if (this.after !== null && compareTreeOrder(cursor, this.after) <= 0) return null;
    return cursor;
  }
}

interface Keyed {
  readonly cursor: TreeCursor;
  readonly entry: Digest;
}

const byCursor = (a: Keyed, b: Keyed): number => compareTreeOrder(a.cursor, b.cursor);

function reply(page: readonly Keyed[], limit: number): EntriesReply {
  const full = page.length === limit;
  return {
    kind: 'entries-reply',
    entries: packEntries(page.map((k) => k.entry)),
    through: full ? encodeCursor(page[page.length - 1]!.cursor) : null,
  };
}

/**
 * Answers an entries request from a full scan: offer every record of the shard (any order),
 * then `finish`. Keeps at most 2 × limit candidates.
 */
export class EntriesCollector {
  private readonly query: EntriesQuery;
  private kept: Keyed[] = [];

  constructor(query: EntriesQuery) {
    this.query = query;
  }

  /** `treeKey` may be passed when the caller has it cached (saves a hash). */
  offer(entry: Digest, treeKey?: number): void {
    const cursor = this.query.admit(entry, treeKey);
    if (cursor === null) return;
    this.kept.push({ cursor, entry });
    if (this.kept.length >= 2 * this.query.limit) this.trim();
  }

  private trim(): void {
    this.kept.sort(byCursor);
    this.kept.length = Math.min(this.kept.length, this.query.limit);
  }

  finish(): EntriesReply {
    this.trim();
    return reply(this.kept, this.query.limit);
  }
}

/** One-shot form of `EntriesCollector`, catching bad requests as an error reply. */
export function answerEntriesFromScan(
  request: EntriesRequest,
  maxLevel: number,
  entries: Iterable<Digest>,
  keyOf?: (entry: Digest) => number,
): EntriesReply | ErrorReply {
  let query: EntriesQuery;
  try {
    query = new EntriesQuery(request, maxLevel);
  } catch (error) {
    if (error instanceof ProtocolError) return badRequest(error.message);
    throw error;
  }
  const collector = new EntriesCollector(query);
  for (const entry of entries) collector.offer(entry, keyOf?.(entry));
  return collector.finish();
}

/**
 * An immutable index of entries in tree order (sorted by tree key, then id): a listing is a
 * binary search per node plus a copy. For benchmarks and the simulation's static replicas; a
 * store keeps the same order in a sorted set.
 */
export class TreeOrderIndex {
  private readonly keys: Uint32Array;
  private readonly items: readonly Digest[];

  private constructor(keys: Uint32Array, items: readonly Digest[]) {
    this.keys = keys;
    this.items = items;
  }

  static fromEntries(entries: readonly Digest[]): TreeOrderIndex {
    const n = entries.length;
    const unsorted = new Uint32Array(n);
    for (let i = 0; i < n; i++) unsorted[i] = treeKeyOf(entries[i]!.id);
    // Sort positions, not objects: no per-entry allocation for a million-entry index.
    const order = new Uint32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    order.sort((a, b) => {
      const ka = unsorted[a]!;
      const kb = unsorted[b]!;
      if (ka !== kb) return ka < kb ? -1 : 1;
      const ia = entries[a]!.id;
      const ib = entries[b]!.id;
      return ia < ib ? -1 : ia > ib ? 1 : 0;
    });
    const keys = new Uint32Array(n);
    const items: Digest[] = new Array<Digest>(n);
    for (let i = 0; i < n; i++) {
      keys[i] = unsorted[order[i]!]!;
      items[i] = entries[order[i]!]!;
    }
    return new TreeOrderIndex(keys, items);
  }

  get size(): number {
    return this.items.length;
  }

  /** First position whose cursor is > `after` (or ≥ key `from` when after is null). */
  private lowerBound(from: number, after: TreeCursor | null): number {
    let lo = 0;
    let hi = this.keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const key = this.keys[mid]!;
      let before: boolean;
      if (key < from) before = true;
      else if (after === null || key > after.key) before = false;
      else if (key < after.key) before = true;
      else before = this.items[mid]!.id <= after.id;
      if (before) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  answer(request: EntriesRequest, maxLevel: number): EntriesReply | ErrorReply {
    let query: EntriesQuery;
    try {
      query = new EntriesQuery(request, maxLevel);
    } catch (error) {
      if (error instanceof ProtocolError) return badRequest(error.message);
      throw error;
    }
    const shift = 32 - query.level;
    const page: Keyed[] = [];
    for (const node of query.nodes) {
      const from = query.level === 0 ? 0 : node * 2 ** shift;
      const to = query.level === 0 ? 2 ** 32 : (node + 1) * 2 ** shift;
      if (query.after !== null && to <= query.after.key) continue;
      const afterInNode = query.after !== null && query.after.key >= from ? query.after : null;
      for (let i = this.lowerBound(from, afterInNode); i < this.keys.length; i++) {
        const key = this.keys[i]!;
        if (key >= to) break;
        page.push({ cursor: { key, id: this.items[i]!.id }, entry: this.items[i]! });
        if (page.length === query.limit) return reply(page, query.limit);
      }
    }
    return reply(page, query.limit);
  }
}
