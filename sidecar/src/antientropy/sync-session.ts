/**
 * One anti-entropy session: this node's replica of a shard against one peer replica, as a pure
 * state machine in the style of etcd-raft — inputs in (the peer's root status, replies, our own
 * listings), decisions out (requests to send, repairs to perform, a result). No timers, no I/O,
 * no clock: `nowMs` is injected at construction; timeouts are the driver's (`abort`).
 *
 *   1. Roots. Compared in a batch across shards (`rootsRequests` / responder `answerRoots`). Equal
 *      → the session is over: one round trip for the whole batch when in sync.
 *   2. Descent. Both trees are compared at the agreed height h = min(ours, theirs) (digests are
 *      height-independent, hash-tree.ts). From the differing nodes of a level we ask for the
 *      digests of their descendants `depth` levels down and keep those that differ from ours.
 *      depth is 1 while differences are sparse (d = 1 costs h steps of 2 digests); when nearly
 *      every node examined differs, the expected number of differences d̂ is estimated from the
 *      fraction and the step jumps several levels at once, keeping the digests asked for within
 *      ~2·d̂ (what level-by-level would send anyway), and per message within maxDigestsPerMessage.
 *      No differing node left → the trees agree (the root difference was a concurrent write).
 *   3. Listing. The differing leaves (level h) are listed in tree order, ≤ maxNodesPerRequest
 *      nodes per group, by the peer (EntriesRequest, `diffBatchSize` entries per reply) and by us
 *      (the same request, answered locally by the driver). The two streams are merge-joined up to
 *      the smaller `through` of the two, and each id present on either side is decided:
 *        - same state → nothing;
 *        - either version younger than `propagationDelay` (wall time vs nowMs) → skipped: it may be
 *          a write still in flight;
 *        - our tombstone, peer absent: purgeable by our GC ledger → purge ours; confirmed by this
 *          peer earlier → the peer purged it, leave it (pushing it back would restart every
 *          replica's grace period: purge ping-pong); otherwise push it. Peer tombstone, we absent
 *          → left to the peer (its own session pushes it unless it purged it; pulling it back
 *          would undo our purge). See tombstone-gc.ts;
 *        - otherwise `resolveRead` over the two digests decides, exactly as repair-on-read: the
 *          winner and which replica gets which conditional write, per deletion strategy
 *          (NoAutomatedResolution conflicts are counted and left alone; DeleteOnConflict's fresh
 *          tombstone comes from the injected `stamp`).
 *      Repairs go out in batches of `propagationBatchSize`; after `propagationLimit` repairs the
 *      session stops ('limit-reached'; the scheduler comes back after frequencyWhilePropagating).
 *
 * Repairs: target 'peer' = push (the driver reads our record at `record.version` and sends it with
 * ifVersion(expected)); target 'local' = write ours with ifVersion(expected): a tombstone needs no
 * payload; a live winner is a pull (fetch it from the peer) and only happens with `pull: true`.
 * Default is push-only, as in Weaviate: every replica runs its own sessions, so the peer pushes
 * what it has newer. Local tombstone writes happen either way (Weaviate deletes locally too).
 *
 * `clean` (for tombstone-gc.ts): the whole key space was compared and every tombstone we held
 * when the session started was found on the peer as an equal-or-newer tombstone — a node compared
 * equal counts for all its entries.
 */
import type { DeletionStrategy } from '../metadata/types.js';
import {
  resolveRead,
  withFetched,
  type ReadInput,
  type ResolutionReason,
} from '../replication/resolution.js';
import type { Digest, PurgeRequest } from '../storage/object-store.js';
import { compareEncodedVersions, type EncodedVersion } from '../versioning/version.js';
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
  encodeCursor,
  encodeNodeList,
  unpackEntries,
  type DigestsReply,
  type DigestsRequest,
  type EntriesReply,
  type EntriesRequest,
  type PeerReply,
  type RootStatus,
  type RootSummary,
  type RootsRequest,
} from './messages.js';

/** The asyncConfig knobs a session uses (names and units as in asyncConfig). */
export interface SessionConfig {
  /** Entries per listing reply. */
  readonly diffBatchSize: number;
  /** ms: objects whose version is younger than this are not repaired yet. */
  readonly propagationDelay: number;
  /** Repairs per session. */
  readonly propagationLimit: number;
  /** Repairs per batch handed to the driver. */
  readonly propagationBatchSize: number;
}

export interface SessionLimits {
  readonly maxDigestsPerMessage: number;
  readonly maxNodesPerRequest: number;
}

export const DEFAULT_SESSION_LIMITS: SessionLimits = {
  maxDigestsPerMessage: AE_LIMITS.maxDigestsPerMessage,
  maxNodesPerRequest: 1024,
};

export interface SyncSessionOptions {
  readonly shard: string;
  /** Our ready tree; read (never written) as replies arrive. */
  readonly tree: HashTree;
  readonly localName: string;
  readonly peerName: string;
  readonly strategy: DeletionStrategy;
  /** Wall-clock ms at the session's start, for propagationDelay. */
  readonly nowMs: number;
  readonly config: SessionConfig;
  /** Also fetch live objects the peer has newer (default false: push-only, as Weaviate). */
  readonly pull?: boolean;
  /** DeleteOnConflict: a fresh version above every version seen (the HLC's next()). */
  readonly stamp?: () => EncodedVersion;
  /** Called with both versions of every differing entry before deciding (HLC observe). */
  readonly observe?: (version: EncodedVersion) => void;
  /** Tombstone GC's view for this peer (TombstoneLedger.sessionView); default: no GC. */
  readonly gc?: TombstoneGcView;
  readonly limits?: Partial<SessionLimits>;
}

/** What a session asks tombstone GC (tombstone-gc.ts), per entry. */
export interface TombstoneGcView {
  /** Our tombstone may be purged now. */
  purgeable(tombstone: Digest, treeKey: number): boolean;
  /**
   * This peer confirmed holding our tombstone since it arrived here (same incarnation): if the
   * peer now lacks it, the peer purged it.
   */
  confirmedByPeer(tombstone: Digest, treeKey: number): boolean;
}

export type RepairTarget = 'peer' | 'local';

/** One conditional write decided by the session. */
export interface Repair {
  readonly id: string;
  readonly target: RepairTarget;
  /** The winner to write: its digest; the payload comes from `source` (null for tombstones). */
  readonly record: Digest;
  readonly source: RepairTarget | null;
  /** ifVersion condition: the version the target reported (null = it had no record). */
  readonly expected: EncodedVersion | null;
  readonly reason: ResolutionReason;
}

export interface Outbound<R> {
  /** Match the reply with `onPeerReply(id, …)` / `onLocalEntries(id, …)`. */
  readonly id: number;
  readonly request: R;
}

export interface SessionOutput {
  readonly toPeer: readonly Outbound<DigestsRequest | EntriesRequest>[];
  /** Listings of our own replica (answer with responder.ts against our store). */
  readonly toLocal: readonly Outbound<EntriesRequest>[];
  /** Batches of at most propagationBatchSize repairs. */
  readonly repairs: readonly (readonly Repair[])[];
  /** Our tombstones to purge (storage purgeTombstones, then the tree update). */
  readonly purges: readonly PurgeRequest[];
  /** Non-null from the call that ends the session on (later calls return it again). */
  readonly result: SessionResult | null;
}

export type SessionOutcome = 'in-sync' | 'reconciled' | 'limit-reached' | 'aborted';

export interface SessionStats {
  /** Sequential request waves to the peer, the roots exchange included. */
  roundTrips: number;
  peerRequests: number;
  digestsReceived: number;
  descentSteps: number;
  differingLeaves: number;
  peerEntriesReceived: number;
  localEntriesRead: number;
  /** Ids present on either side of a differing leaf. */
  entriesCompared: number;
  /** Ids whose states differ. */
  differences: number;
  pushes: number;
  pulls: number;
  localWrites: number;
  purges: number;
  skippedYoung: number;
  /** Peer holds a newer live object and pull is off: the peer's own session pushes it. */
  leftToPeer: number;
  /** NoAutomatedResolution deletion conflicts left unresolved (Weaviate's objectsNotResolved). */
  conflicts: number;
  /** DeleteOnConflict repairs the clock could not stamp. */
  deferred: number;
  /** Our tombstones the peer did not hold as an equal-or-newer tombstone. */
  tombstoneDeficits: number;
  /** Our tombstones the peer had confirmed and since purged (not pushed back). */
  peerPurged: number;
}

export interface SessionResult {
  readonly shard: string;
  readonly peer: string;
  readonly outcome: SessionOutcome;
  /** Completed over the whole key space with no tombstone deficit: a GC confirmation. */
  readonly clean: boolean;
  /** Something was repaired or left to repair: schedule the next cycle sooner. */
  readonly propagating: boolean;
  readonly agreedHeight: number | null;
  readonly abortReason?: string;
  readonly stats: Readonly<SessionStats>;
}

/** Splits root summaries into requests of at most `batchSize` shards (1 = no batching). */
export function rootsRequests(
  summaries: readonly RootSummary[],
  batchSize: number,
): RootsRequest[] {
  if (
    !Number.isInteger(batchSize) ||
    batchSize < 1 ||
    batchSize > AE_LIMITS.maxShardsPerRootsRequest
  ) {
    throw new RangeError(`roots batch size must be in 1..${AE_LIMITS.maxShardsPerRootsRequest}`);
  }
  const out: RootsRequest[] = [];
  for (let i = 0; i < summaries.length; i += batchSize) {
    out.push({ kind: 'roots', shards: summaries.slice(i, i + batchSize) });
  }
  return out;
}

/** The root summary of a ready tree. */
export function rootSummary(shard: string, tree: HashTree): RootSummary {
  return { shard, height: tree.height, root: tree.root() };
}

/** Weaviate's scheduling: sooner while propagating, `frequency` otherwise (and after errors). */
export function nextCycleDelayMs(
  result: SessionResult | null,
  config: { readonly frequency: number; readonly frequencyWhilePropagating: number },
): number {
  return result !== null && result.propagating
    ? config.frequencyWhilePropagating
    : config.frequency;
}

// ---------------------------------------------------------------------------------------------
// Per-entry decision

export type EntryDecision =
  | { readonly kind: 'equal' }
  | { readonly kind: 'young' }
  | { readonly kind: 'purge'; readonly purge: PurgeRequest }
  | { readonly kind: 'peer-purged' }
  | { readonly kind: 'peer-tombstone-only' }
  | { readonly kind: 'conflict' }
  | { readonly kind: 'deferred'; readonly why: string }
  | { readonly kind: 'repairs'; readonly repairs: readonly Repair[] };

export interface EntryContext {
  readonly localName: string;
  readonly peerName: string;
  readonly strategy: DeletionStrategy;
  /** Versions with a wall time above this are too young to repair. */
  readonly youngAfterMs: number;
  readonly stamp?: () => EncodedVersion;
  readonly gc?: TombstoneGcView;
}

/** Wall-clock ms of an encoded version (its first 12 hex digits). */
export function versionWallMs(version: EncodedVersion): number {
  return parseInt(version.slice(0, 12), 16);
}

const PLACEHOLDER_PAYLOAD = Buffer.alloc(0);

/**
 * Whether the peer holds our tombstone or a newer one. Only a tombstone counts: a newer live
 * copy (a re-creation) means ours is about to be replaced, not confirmed.
 */
export function tombstoneConfirmed(local: Digest, peer: Digest | null): boolean {
  return peer !== null && peer.deleted && compareEncodedVersions(peer.version, local.version) >= 0;
}

/** Decides one id from the two replicas' digests (null = no record). Pure. */
export function decideEntry(
  local: Digest | null,
  peer: Digest | null,
  treeKey: number,
  ctx: EntryContext,
): EntryDecision {
  if (local === null && peer === null) return { kind: 'equal' };
  if (
    local !== null &&
    peer !== null &&
    local.version === peer.version &&
    local.deleted === peer.deleted
  ) {
    return { kind: 'equal' };
  }
  if (
    (local !== null && versionWallMs(local.version) > ctx.youngAfterMs) ||
    (peer !== null && versionWallMs(peer.version) > ctx.youngAfterMs)
  ) {
    return { kind: 'young' };
  }
  if (local !== null && local.deleted && peer === null && ctx.gc !== undefined) {
    if (ctx.gc.purgeable(local, treeKey)) {
      return { kind: 'purge', purge: { id: local.id, version: local.version } };
    }
    if (ctx.gc.confirmedByPeer(local, treeKey)) return { kind: 'peer-purged' };
  }
  if (local === null && peer !== null && peer.deleted) return { kind: 'peer-tombstone-only' };

  const id = (local ?? peer)!.id;
  let input: ReadInput = {
    id,
    level: 'ALL',
    factor: 2,
    strategy: ctx.strategy,
    replies: [
      { replica: ctx.localName, kind: 'digest', digest: local },
      { replica: ctx.peerName, kind: 'digest', digest: peer },
    ],
    wantPayload: false,
  };
  const options = ctx.stamp ? { stamp: ctx.stamp } : {};
  let resolution = resolveRead(input, options);
  if (resolution.kind === 'fetch') {
    // The winner is live and known by digest only. The session never moves payloads, so it
    // folds in a stand-in record at the winning version and resolves again: the decision is
    // resolveRead's, the payload is fetched by the driver from `source` when it performs it.
    const holder = resolution.from[0]!;
    input = withFetched(input, holder, {
      id,
      version: resolution.version,
      deleted: false,
      payload: PLACEHOLDER_PAYLOAD,
    });
    resolution = resolveRead(input, options);
  }
  if (resolution.kind !== 'resolved') {
    throw new Error(`unexpected resolution ${resolution.kind} for two digests of ${id}`);
  }
  if (resolution.answer.kind === 'conflict') return { kind: 'conflict' };
  if (resolution.deferred !== undefined) return { kind: 'deferred', why: resolution.deferred };
  const winner = resolution.winner;
  const holderOf = (digest: Digest): RepairTarget | null => {
    if (digest.deleted) return null;
    if (local !== null && local.version === digest.version && !local.deleted) return 'local';
    if (peer !== null && peer.version === digest.version && !peer.deleted) return 'peer';
    throw new Error(`live winner ${digest.version} of ${id} is held by neither side`);
  };
  const repairs = resolution.repairs.map((write): Repair => {
    const record: Digest = {
      id,
      version: write.request.record.version,
      deleted: write.request.record.deleted,
    };
    if (write.request.condition.kind !== 'ifVersion') {
      throw new Error('read repair planned a write that is not ifVersion');
    }
    return {
      id,
      target: write.replica === ctx.localName ? 'local' : 'peer',
      record,
      source: holderOf(record),
      expected: write.request.condition.expected,
      reason: resolution.reason,
    };
  });
  if (winner === null && repairs.length > 0) throw new Error('repairs without a winner');
  return { kind: 'repairs', repairs };
}

// ---------------------------------------------------------------------------------------------
// The session

interface Keyed {
  readonly cursor: TreeCursor;
  readonly entry: Digest;
}

/** One side's stream of a listing group. */
interface ListingSide {
  buffer: Keyed[];
  position: number;
  /** Covered up to here (inclusive); null = to the end. Undefined while the first reply is out. */
  through: TreeCursor | null | undefined;
  /** Request id awaited, or 0. */
  awaiting: number;
  /** Cursor of the request awaited (its `after`). */
  requestedAfter: TreeCursor | null;
}

interface DescentRequest {
  readonly parents: readonly number[];
}

type Phase = 'new' | 'descending' | 'listing' | 'done';

/** Saturated fraction (every examined node differs): assume at least this many per node. */
const SATURATED_PER_NODE = 8;

function emptyStats(): SessionStats {
  return {
    roundTrips: 0,
    peerRequests: 0,
    digestsReceived: 0,
    descentSteps: 0,
    differingLeaves: 0,
    peerEntriesReceived: 0,
    localEntriesRead: 0,
    entriesCompared: 0,
    differences: 0,
    pushes: 0,
    pulls: 0,
    localWrites: 0,
    purges: 0,
    skippedYoung: 0,
    leftToPeer: 0,
    conflicts: 0,
    deferred: 0,
    tombstoneDeficits: 0,
    peerPurged: 0,
  };
}

export class SyncSession {
  private readonly options: SyncSessionOptions;
  private readonly limits: SessionLimits;
  private readonly ctx: EntryContext;
  private phase: Phase = 'new';
  private height = 0;
  private heightAgreed = false;
  private nextId = 1;
  private readonly stats = emptyStats();
  private final: SessionResult | null = null;

  // Descent
  private level = 0;
  private depth = 0;
  private readonly descentOut = new Map<number, DescentRequest>();
  private found: number[] = [];
  private examined = 0;

  // Listing
  private groups: number[][] = [];
  private group = 0;
  private groupNodes: Uint8Array = new Uint8Array(0);
  private peerSide!: ListingSide;
  private localSide!: ListingSide;
  private repairCount = 0;

  // Output of the current call
  private toPeer: Outbound<DigestsRequest | EntriesRequest>[] = [];
  private toLocal: Outbound<EntriesRequest>[] = [];
  private repairBatches: Repair[][] = [];
  private batch: Repair[] = [];
  private purges: PurgeRequest[] = [];

  constructor(options: SyncSessionOptions) {
    const c = options.config;
    for (const [name, value, max] of [
      ['diffBatchSize', c.diffBatchSize, AE_LIMITS.maxEntriesPerReply],
      ['propagationLimit', c.propagationLimit, 100_000],
      ['propagationBatchSize', c.propagationBatchSize, 1_000],
    ] as const) {
      if (!Number.isInteger(value) || value < 1 || value > max) {
        throw new RangeError(`${name} must be an integer in 1..${max}, got ${value}`);
      }
    }
    if (!Number.isFinite(c.propagationDelay) || c.propagationDelay < 0) {
      throw new RangeError('propagationDelay must be ≥ 0 ms');
    }
    if (options.localName === options.peerName) {
      throw new RangeError('a session needs two different replicas');
    }
    if (options.strategy === 'DeleteOnConflict' && options.stamp === undefined) {
      throw new RangeError('DeleteOnConflict sessions need a stamp (the HLC) for fresh tombstones');
    }
    this.options = options;
    this.limits = { ...DEFAULT_SESSION_LIMITS, ...options.limits };
    if (
      this.limits.maxDigestsPerMessage < 2 ||
      this.limits.maxDigestsPerMessage > AE_LIMITS.maxDigestsPerMessage ||
      this.limits.maxNodesPerRequest < 1 ||
      this.limits.maxNodesPerRequest > AE_LIMITS.maxNodesPerRequest
    ) {
      throw new RangeError('session limits outside the protocol limits');
    }
    this.ctx = {
      localName: options.localName,
      peerName: options.peerName,
      strategy: options.strategy,
      youngAfterMs: options.nowMs - c.propagationDelay,
      ...(options.stamp ? { stamp: options.stamp } : {}),
      ...(options.gc ? { gc: options.gc } : {}),
    };
  }

  get done(): boolean {
    return this.phase === 'done';
  }

  get result(): SessionResult | null {
    return this.final;
  }

  /** Begins from the peer's answer to our root (from a batched roots exchange). */
  start(status: RootStatus): SessionOutput {
    if (this.phase !== 'new') throw new Error('session already started');
    if (status.shard !== this.options.shard) throw new RangeError('root status for another shard');
    this.stats.roundTrips++;
    this.stats.peerRequests++;
    if (status.state === 'unknown' || status.state === 'not-ready') {
      this.finish('aborted', `peer tree ${status.state}`);
      return this.flush();
    }
    if (status.state === 'equal') {
      this.finish('in-sync');
      return this.flush();
    }
    if (status.height === undefined || status.root === undefined) {
      this.finish('aborted', 'peer root status without height and root');
      return this.flush();
    }
    this.height = Math.min(this.options.tree.height, status.height);
    this.heightAgreed = true;
    // Equal to our root now (read after the session began, like the root we sent: for tombstone
    // GC both establish the same thing).
    if (this.options.tree.nodeEquals(0, 0, status.root, 0)) {
      this.finish('in-sync');
      return this.flush();
    }
    if (this.height === 0) {
      this.beginListing([0]);
    } else {
      this.level = 0;
      this.requestDescendants([0], 1);
    }
    return this.flush();
  }

  /** A reply from the peer to request `id`. Error replies abort the session. */
  onPeerReply(id: number, reply: PeerReply): SessionOutput {
    if (this.phase === 'done') return this.flush();
    if (reply.kind === 'error') {
      this.finish('aborted', `peer: ${reply.code}: ${reply.message}`);
      return this.flush();
    }
    try {
      if (this.phase === 'descending' && reply.kind === 'digests-reply') {
        this.onDigests(id, reply);
      } else if (this.phase === 'listing' && reply.kind === 'entries-reply') {
        this.onEntries(this.peerSide, id, reply, true);
      } else {
        throw new ProtocolError(`unexpected ${reply.kind} in phase ${this.phase}`);
      }
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      this.finish('aborted', `peer broke the protocol: ${error.message}`);
    }
    return this.flush();
  }

  /** Our own listing for local request `id`. */
  onLocalEntries(id: number, reply: EntriesReply): SessionOutput {
    if (this.phase === 'done') return this.flush();
    if (this.phase !== 'listing') throw new Error('local entries outside the listing phase');
    this.onEntries(this.localSide, id, reply, false);
    return this.flush();
  }

  /** Ends the session (timeout, connection lost, shutdown). */
  abort(reason: string): SessionOutput {
    if (this.phase !== 'done') this.finish('aborted', reason);
    return this.flush();
  }

  // -------------------------------------------------------------------------------------------
  // Descent

  private requestDescendants(parents: readonly number[], depth: number): void {
    this.phase = 'descending';
    this.depth = depth;
    this.found = [];
    this.examined = 0;
    const fanout = 2 ** depth;
    const perMessage = Math.max(1, Math.floor(this.limits.maxDigestsPerMessage / fanout));
    for (let i = 0; i < parents.length; i += perMessage) {
      const chunk = parents.slice(i, i + perMessage);
      const id = this.nextId++;
      this.descentOut.set(id, { parents: chunk });
      this.toPeer.push({
        id,
        request: {
          kind: 'digests',
          shard: this.options.shard,
          level: this.level,
          depth,
          parents: encodeNodeList(chunk),
        },
      });
      this.stats.peerRequests++;
    }
    this.stats.roundTrips++;
    this.stats.descentSteps++;
  }

  private onDigests(id: number, reply: DigestsReply): void {
    const request = this.descentOut.get(id);
    if (request === undefined) throw new ProtocolError(`no digests request ${id} outstanding`);
    const fanout = 2 ** this.depth;
    if (reply.digests.length !== request.parents.length * fanout * HASH_BYTES) {
      throw new ProtocolError('digests reply has the wrong length');
    }
    this.descentOut.delete(id);
    this.stats.digestsReceived += request.parents.length * fanout;
    const target = this.level + this.depth;
    const tree = this.options.tree;
    let offset = 0;
    for (const parent of request.parents) {
      for (let child = parent * fanout; child < (parent + 1) * fanout; child++) {
        if (!tree.nodeEquals(target, child, reply.digests, offset)) this.found.push(child);
        offset += HASH_BYTES;
      }
    }
    this.examined += request.parents.length * fanout;
    if (this.descentOut.size > 0) return;

    const differing = this.found.sort((a, b) => a - b);
    this.level = target;
    if (differing.length === 0) {
      this.finish('reconciled');
      return;
    }
    if (this.level === this.height) {
      this.beginListing(differing);
      return;
    }
    this.requestDescendants(differing, this.chooseDepth(differing.length, this.examined));
  }

  /**
   * Levels to jump next. With D of E examined nodes differing, the differences d ≈ −E·ln(1 − D/E)
   * (balls in bins); asking for D·2^s digests is worth it while that stays within 2·max(d̂, D).
   */
  private chooseDepth(differing: number, examined: number): number {
    const remaining = this.height - this.level;
    const fraction = differing / examined;
    const estimate =
      fraction >= 1 ? examined * SATURATED_PER_NODE : -examined * Math.log(1 - fraction);
    const budget = 2 * Math.max(estimate, differing);
    let depth = 1;
    while (
      depth < remaining &&
      differing * 2 ** (depth + 1) <= budget &&
      2 ** (depth + 1) <= this.limits.maxDigestsPerMessage
    ) {
      depth++;
    }
    return depth;
  }

  // -------------------------------------------------------------------------------------------
  // Listing

  private beginListing(leaves: readonly number[]): void {
    this.phase = 'listing';
    this.level = this.height;
    this.stats.differingLeaves = leaves.length;
    this.groups = [];
    for (let i = 0; i < leaves.length; i += this.limits.maxNodesPerRequest) {
      this.groups.push(leaves.slice(i, i + this.limits.maxNodesPerRequest));
    }
    this.group = 0;
    this.startGroup();
  }

  private startGroup(): void {
    this.groupNodes = encodeNodeList(this.groups[this.group]!);
    const side = (): ListingSide => ({
      buffer: [],
      position: 0,
      through: undefined,
      awaiting: 0,
      requestedAfter: null,
    });
    this.peerSide = side();
    this.localSide = side();
    this.requestMore(this.peerSide, null, true);
    this.requestMore(this.localSide, null, false);
  }

  private requestMore(side: ListingSide, after: TreeCursor | null, peer: boolean): void {
    const id = this.nextId++;
    const request: EntriesRequest = {
      kind: 'entries',
      shard: this.options.shard,
      level: this.height,
      nodes: this.groupNodes,
      after: after === null ? null : encodeCursor(after),
      limit: this.options.config.diffBatchSize,
    };
    side.awaiting = id;
    side.requestedAfter = after;
    if (peer) {
      this.toPeer.push({ id, request });
      this.stats.peerRequests++;
      this.stats.roundTrips++;
    } else {
      this.toLocal.push({ id, request });
    }
  }

  private onEntries(side: ListingSide, id: number, reply: EntriesReply, peer: boolean): void {
    if (side.awaiting !== id) throw new ProtocolError(`no entries request ${id} outstanding`);
    const entries = unpackEntries(reply.entries);
    const through = reply.through === null ? null : decodeCursor(reply.through);
    const after = side.requestedAfter;
    if (entries.length > this.options.config.diffBatchSize) {
      throw new ProtocolError('entries reply exceeds the requested limit');
    }
    if (through !== null && after !== null && compareTreeOrder(through, after) <= 0) {
      throw new ProtocolError('entries reply made no progress');
    }
    const groupSet = new Set(this.groups[this.group]);
    const keyed: Keyed[] = new Array<Keyed>(entries.length);
    let previous = after;
    entries.forEach((entry, i) => {
      const cursor = { key: treeKeyOf(entry.id), id: entry.id };
      if (previous !== null && compareTreeOrder(cursor, previous) <= 0) {
        throw new ProtocolError('entries not in strictly ascending tree order');
      }
      if (!groupSet.has(nodeAtLevel(cursor.key, this.height))) {
        throw new ProtocolError('entry outside the requested nodes');
      }
      if (through !== null && compareTreeOrder(cursor, through) > 0) {
        throw new ProtocolError("entry beyond the reply's through cursor");
      }
      keyed[i] = { cursor, entry };
      previous = cursor;
    });
    if (peer) this.stats.peerEntriesReceived += entries.length;
    else this.stats.localEntriesRead += entries.length;
    side.awaiting = 0;
    side.buffer = keyed;
    side.position = 0;
    side.through = through;
    this.merge();
  }

  /** Consumes everything both sides cover; asks the limiting side(s) for more. */
  private merge(): void {
    const local = this.localSide;
    const peer = this.peerSide;
    if (local.through === undefined || peer.through === undefined) return;
    if (local.awaiting !== 0 || peer.awaiting !== 0) {
      // One side is refilling; entries up to the other side's bound may still be decidable, but
      // waiting keeps the state simple and costs nothing: the refill was sent at the same time.
      return;
    }
    const bound =
      local.through === null
        ? peer.through
        : peer.through === null
          ? local.through
          : compareTreeOrder(local.through, peer.through) <= 0
            ? local.through
            : peer.through;
    const within = (k: Keyed): boolean => bound === null || compareTreeOrder(k.cursor, bound) <= 0;
    for (;;) {
      const a = local.position < local.buffer.length ? local.buffer[local.position]! : null;
      const b = peer.position < peer.buffer.length ? peer.buffer[peer.position]! : null;
      const aIn = a !== null && within(a);
      const bIn = b !== null && within(b);
      if (!aIn && !bIn) break;
      let order: number;
      if (aIn && bIn) order = compareTreeOrder(a.cursor, b.cursor);
      else order = aIn ? -1 : 1;
      if (order === 0) {
        this.compare(a!.entry, b!.entry, a!.cursor.key);
        local.position++;
        peer.position++;
      } else if (order < 0) {
        this.compare(a!.entry, null, a!.cursor.key);
        local.position++;
      } else {
        this.compare(null, b!.entry, b!.cursor.key);
        peer.position++;
      }
      if (this.repairCount >= this.options.config.propagationLimit) {
        this.finish('limit-reached');
        return;
      }
    }
    if (bound === null) {
      this.group++;
      if (this.group < this.groups.length) this.startGroup();
      else this.finish('reconciled');
      return;
    }
    // The side(s) whose coverage ends at `bound` have consumed everything: refill them.
    if (local.through !== null && compareTreeOrder(local.through, bound) === 0) {
      this.requestMore(local, bound, false);
    }
    if (peer.through !== null && compareTreeOrder(peer.through, bound) === 0) {
      this.requestMore(peer, bound, true);
    }
  }

  private compare(local: Digest | null, peer: Digest | null, treeKey: number): void {
    this.stats.entriesCompared++;
    const same =
      local !== null &&
      peer !== null &&
      local.version === peer.version &&
      local.deleted === peer.deleted;
    if (same) return;
    this.stats.differences++;
    if (this.options.observe) {
      if (local !== null) this.options.observe(local.version);
      if (peer !== null) this.options.observe(peer.version);
    }
    const decision = decideEntry(local, peer, treeKey, this.ctx);
    // A tombstone we purge, or that the peer purged, is no longer expected on the peer.
    if (
      local !== null &&
      local.deleted &&
      !tombstoneConfirmed(local, peer) &&
      decision.kind !== 'purge' &&
      decision.kind !== 'peer-purged'
    ) {
      this.stats.tombstoneDeficits++;
    }
    switch (decision.kind) {
      case 'equal':
      case 'peer-tombstone-only':
        return;
      case 'peer-purged':
        this.stats.peerPurged++;
        return;
      case 'young':
        this.stats.skippedYoung++;
        return;
      case 'purge':
        this.stats.purges++;
        this.purges.push(decision.purge);
        return;
      case 'conflict':
        this.stats.conflicts++;
        return;
      case 'deferred':
        this.stats.deferred++;
        return;
      case 'repairs':
        for (const repair of decision.repairs) {
          if (repair.target === 'peer') {
            this.stats.pushes++;
          } else if (repair.source === 'peer') {
            if (!this.options.pull) {
              this.stats.leftToPeer++;
              continue;
            }
            this.stats.pulls++;
          } else {
            this.stats.localWrites++;
          }
          this.emitRepair(repair);
        }
        return;
    }
  }

  private emitRepair(repair: Repair): void {
    this.batch.push(repair);
    this.repairCount++;
    if (this.batch.length >= this.options.config.propagationBatchSize) {
      this.repairBatches.push(this.batch);
      this.batch = [];
    }
  }

  // -------------------------------------------------------------------------------------------

  private finish(outcome: SessionOutcome, abortReason?: string): void {
    this.phase = 'done';
    const stats = { ...this.stats };
    const complete = outcome === 'in-sync' || outcome === 'reconciled';
    this.final = {
      shard: this.options.shard,
      peer: this.options.peerName,
      outcome,
      clean: complete && stats.tombstoneDeficits === 0,
      propagating:
        stats.pushes + stats.pulls + stats.localWrites + stats.purges > 0 ||
        stats.leftToPeer + stats.skippedYoung + stats.deferred > 0 ||
        outcome === 'limit-reached',
      agreedHeight: this.heightAgreed ? this.height : null,
      ...(abortReason !== undefined ? { abortReason } : {}),
      stats,
    };
  }

  private flush(): SessionOutput {
    // A partial batch goes out now rather than waiting for the next reply: the driver performs
    // repairs while the session waits on the network.
    if (this.batch.length > 0) {
      this.repairBatches.push(this.batch);
      this.batch = [];
    }
    const out: SessionOutput = {
      toPeer: this.toPeer,
      toLocal: this.toLocal,
      repairs: this.repairBatches,
      purges: this.purges,
      result: this.phase === 'done' ? this.final : null,
    };
    this.toPeer = [];
    this.toLocal = [];
    this.repairBatches = [];
    this.purges = [];
    return out;
  }
}
