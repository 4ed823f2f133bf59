/**
 * An in-memory shard replica and a synchronous driver for SyncSession: what the property tests,
 * the benchmark and the deterministic simulation use to run anti-entropy without sockets or
 * stores. Every peer message is really encoded with msgpack (the mesh's settings) and decoded with
 * `parseMessage`, so byte counts are the wire's (bodies only, without the RPC frame's few bytes)
 * and the formats are proven to survive the trip.
 *
 * Repairs are applied with the storage contract's compare-and-set (ifVersion `expected`).
 */
import { Packr } from 'msgpackr';
import type { DeletionStrategy } from '../metadata/types.js';
import type { Digest } from '../storage/object-store.js';
import type { EncodedVersion } from '../versioning/version.js';
import { treeKeyOf } from './entry-hash.js';
import { HashTree } from './hash-tree.js';
import {
  parseMessage,
  type AntiEntropyMessage,
  type EntriesReply,
  type EntriesRequest,
  type PeerReply,
  type RootsReply,
} from './messages.js';
import { TreeOrderIndex, answerDigests, answerEntriesFromScan, answerRoots } from './responder.js';
import {
  SyncSession,
  rootSummary,
  rootsRequests,
  type Repair,
  type SessionConfig,
  type SessionResult,
  type TombstoneGcView,
} from './sync-session.js';

const packr = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: true });

/** Encodes and decodes a message as the mesh would; returns it and its size. */
export function wireTrip<T extends AntiEntropyMessage>(message: T): { message: T; bytes: number } {
  const encoded = packr.pack(message);
  return { message: parseMessage(packr.unpack(encoded)) as T, bytes: encoded.length };
}

export class MemoryReplica {
  readonly name: string;
  readonly records = new Map<string, Digest>();
  readonly tree: HashTree;
  readonly incarnation: string;
  /** Optional static tree-order index (benchmarks): listings by binary search, not by scan. */
  private index: TreeOrderIndex | null = null;
  /** Tree keys by id, so scans do not rehash every record per listing. */
  private readonly keys = new Map<string, number>();
  private readonly keyOf = (entry: Digest): number => {
    let key = this.keys.get(entry.id);
    if (key === undefined) {
      key = treeKeyOf(entry.id);
      this.keys.set(entry.id, key);
    }
    return key;
  };
  /** Called after every change the tree took (for a TombstoneLedger, counters…). */
  onChange: ((prev: Digest | null, next: Digest | null) => void) | null = null;

  constructor(name: string, height: number, entries: Iterable<Digest> = [], incarnation = 'i1') {
    this.name = name;
    this.incarnation = incarnation;
    for (const entry of entries) this.records.set(entry.id, entry);
    this.tree = HashTree.fromEntries(height, this.records.values());
  }

  /** Freezes the current records into a tree-order index; any later write drops it. */
  buildIndex(): void {
    this.index = TreeOrderIndex.fromEntries([...this.records.values()]);
  }

  /** Unconditional write (a client write that won): replaces or removes the record. */
  set(id: string, next: Digest | null): void {
    const prev = this.records.get(id) ?? null;
    if (next === null) this.records.delete(id);
    else this.records.set(id, next);
    this.tree.update(id, prev, next);
    this.index = null;
    this.onChange?.(prev, next);
  }

  /** The storage contract's ifVersion write; returns whether it applied. */
  writeIfVersion(record: Digest, expected: EncodedVersion | null): boolean {
    const current = this.records.get(record.id) ?? null;
    const currentVersion = current === null ? null : current.version;
    if (currentVersion !== expected) return false;
    this.set(record.id, record);
    return true;
  }

  /** purgeTombstones for one id: only if still that tombstone. */
  purge(id: string, version: EncodedVersion): boolean {
    const current = this.records.get(id);
    if (current === undefined || !current.deleted || current.version !== version) return false;
    this.set(id, null);
    return true;
  }

  listEntries(request: EntriesRequest): EntriesReply {
    const reply = this.index
      ? this.index.answer(request, this.tree.height)
      : answerEntriesFromScan(request, this.tree.height, this.records.values(), this.keyOf);
    if (reply.kind === 'error') throw new Error(`local listing refused: ${reply.message}`);
    return reply;
  }

  /** Answers a peer request (already decoded). */
  answer(message: AntiEntropyMessage): PeerReply {
    switch (message.kind) {
      case 'roots':
        return answerRoots(message, () => ({ state: 'ready', tree: this.tree }), this.incarnation);
      case 'digests':
        return answerDigests(this.tree, message);
      case 'entries':
        return this.listEntries(message);
      default:
        throw new Error(`not a request: ${message.kind}`);
    }
  }
}

export interface DriveOptions {
  readonly shard?: string;
  readonly strategy: DeletionStrategy;
  readonly nowMs: number;
  readonly config: SessionConfig;
  readonly pull?: boolean;
  readonly stamp?: () => EncodedVersion;
  readonly gc?: TombstoneGcView;
  /** Apply the session's repairs and purges (default true). */
  readonly apply?: boolean;
  readonly limits?: {
    readonly maxDigestsPerMessage?: number;
    readonly maxNodesPerRequest?: number;
  };
}

export interface DriveReport {
  readonly result: SessionResult;
  /** Bytes of request bodies sent to the peer / reply bodies received, msgpack-encoded. */
  readonly bytesToPeer: number;
  readonly bytesFromPeer: number;
  /** Of which for the descent (roots + digests) and the listing. */
  readonly descentBytes: number;
  readonly listingBytes: number;
  readonly repairs: readonly Repair[];
  readonly repairsApplied: number;
  readonly purgesApplied: number;
  readonly rootsReply: RootsReply;
}

/**
 * Runs one complete session of `local` against `peer`, synchronously: the roots exchange, then
 * every request the session emits, answered at once, until it is done.
 */
export function driveSession(
  local: MemoryReplica,
  peer: MemoryReplica,
  options: DriveOptions,
): DriveReport {
  const shard = options.shard ?? 'shard';
  let bytesToPeer = 0;
  let bytesFromPeer = 0;
  let descentBytes = 0;
  let listingBytes = 0;

  const [rootsRequest] = rootsRequests([rootSummary(shard, local.tree)], 1);
  const sentRoots = wireTrip(rootsRequest!);
  const rootsAnswer = wireTrip(peer.answer(sentRoots.message));
  bytesToPeer += sentRoots.bytes;
  bytesFromPeer += rootsAnswer.bytes;
  descentBytes += sentRoots.bytes + rootsAnswer.bytes;
  const rootsReply = rootsAnswer.message as RootsReply;

  const session = new SyncSession({
    shard,
    tree: local.tree,
    localName: local.name,
    peerName: peer.name,
    strategy: options.strategy,
    nowMs: options.nowMs,
    config: options.config,
    ...(options.pull !== undefined ? { pull: options.pull } : {}),
    ...(options.stamp ? { stamp: options.stamp } : {}),
    ...(options.gc ? { gc: options.gc } : {}),
    ...(options.limits ? { limits: options.limits } : {}),
  });
  const repairs: Repair[] = [];
  let repairsApplied = 0;
  let purgesApplied = 0;
  const apply = options.apply ?? true;

  let output = session.start(rootsReply.statuses[0]!);
  for (let guard = 0; ; guard++) {
    if (guard > 10_000_000) throw new Error('session did not terminate');
    for (const batch of output.repairs) {
      for (const repair of batch) {
        repairs.push(repair);
        if (apply && performRepair(local, peer, repair)) repairsApplied++;
      }
    }
    for (const purge of output.purges) {
      if (apply && local.purge(purge.id, purge.version)) purgesApplied++;
    }
    if (output.result !== null) break;
    const next: (() => ReturnType<SyncSession['onPeerReply']>)[] = [];
    for (const { id, request } of output.toLocal) {
      next.push(() => session.onLocalEntries(id, local.listEntries(request)));
    }
    for (const { id, request } of output.toPeer) {
      const sent = wireTrip(request);
      const answered = wireTrip(peer.answer(sent.message));
      bytesToPeer += sent.bytes;
      bytesFromPeer += answered.bytes;
      if (request.kind === 'digests') descentBytes += sent.bytes + answered.bytes;
      else listingBytes += sent.bytes + answered.bytes;
      next.push(() => session.onPeerReply(id, answered.message as PeerReply));
    }
    if (next.length === 0) throw new Error('session is waiting for nothing');
    // Deliver every reply of this wave; merge the outputs.
    const merged = {
      toPeer: [] as (typeof output.toPeer)[number][],
      toLocal: [] as (typeof output.toLocal)[number][],
      repairs: [] as (readonly Repair[])[],
      purges: [] as (typeof output.purges)[number][],
      result: null as SessionResult | null,
    };
    for (const deliver of next) {
      const o = deliver();
      merged.toPeer.push(...o.toPeer);
      merged.toLocal.push(...o.toLocal);
      merged.repairs.push(...o.repairs);
      merged.purges.push(...o.purges);
      if (o.result !== null) merged.result = o.result;
    }
    output = merged;
  }
  return {
    result: output.result!,
    bytesToPeer,
    bytesFromPeer,
    descentBytes,
    listingBytes,
    repairs,
    repairsApplied,
    purgesApplied,
    rootsReply,
  };
}

/** Performs one repair with compare-and-set; false if refused or the source changed. */
export function performRepair(local: MemoryReplica, peer: MemoryReplica, repair: Repair): boolean {
  const target = repair.target === 'local' ? local : peer;
  if (repair.source !== null) {
    const source = repair.source === 'local' ? local : peer;
    const held = source.records.get(repair.id);
    if (held === undefined || held.version !== repair.record.version || held.deleted) return false;
  }
  return target.writeIfVersion(repair.record, repair.expected);
}
