/**
 * When may a tombstone be purged? Pure bookkeeping per local shard replica.
 *
 * Rule: tombstone t (in leaf L of our tree) may be purged only when, for EVERY other replica P of
 * the shard (current membership),
 *   (1) a clean session with P — one that compared the whole key space and found every tombstone
 *       we held at its start on P as an equal-or-newer tombstone (sync-session.ts `clean`) —
 *       started after t entered our tree; and
 *   (2) at least `graceMs` after that confirmation, another clean session with P completed, with
 *       P's incarnation unchanged in between.
 * (1) says P held t. (2) says it still did a grace period later, long enough for P's store to have
 * made it durable (AOF everysec loses ≤ ~1 s) and for any write stamped before t to have left the
 * pipeline (staging TTL, retries, HLC drift); a restart of P in between (new incarnation) voids its
 * confirmations, since a restart is when unsynced writes are lost.
 *
 * "Started after t entered our tree" is decided without clocks: a counter `tick` advances at every
 * session start, and each leaf remembers the tick at which a tombstone last entered it (4 bytes per
 * leaf: 256 KiB at H=16). A session with start tick s covers leaf L iff s > leafTick[L]: every
 * tombstone in L then predates the session. Coarse per leaf — a busy leaf delays its tombstones'
 * purge, never hastens it. Times for (2) come from the injected monotonic clock, so wall-clock
 * steps cannot shorten the grace; the ledger lives in memory, so a restart of this node starts it
 * over (tombstones already in the store get leaf tick 0 and need fresh confirmations anyway, since
 * confirmations are empty).
 *
 * Membership change (a replica added, removed, replaced; a new placement epoch): every
 * confirmation is dropped, and sessions begun before the change no longer count.
 *
 * Assumption the I/O layer must uphold: a replica's store never loses a write without its
 * incarnation changing (the incarnation identifies the sidecar process AND its store instance: bump
 * it whenever the tree is rebuilt because Redis restarted or was replaced).
 *
 * With no other replica (factor 1) nothing is ever purgeable here: nobody can confirm, and
 * Weaviate keeps tombstones forever too.
 *
 * Why purging needs the sessions' help: tombstones are in the tree, so once one replica purges,
 * its leaf differs from replicas that have not yet. A session then sees "our tombstone, peer
 * absent": if our ledger says purgeable, we purge too; else if this peer had confirmed holding it
 * since it arrived here (same incarnation), the peer purged it — we do not push it back (that
 * would re-note the leaf everywhere and restart every grace period: purge ping-pong) and it is no
 * deficit; otherwise the peer never had it and we push it. "Peer tombstone, we absent" is left
 * to the peer. See `sessionView`.
 */
import type { Digest, PurgeRequest } from '../storage/object-store.js';
import { nodeAtLevel, treeKeyOf } from './entry-hash.js';
import { assertHeight } from './hash-tree.js';
import type { TombstoneGcView } from './sync-session.js';

export interface TombstoneLedgerOptions {
  /** Height of our tree (the ledger keeps one tick per leaf). */
  readonly height: number;
  readonly self: string;
  /** Every replica of the shard, self included. */
  readonly replicas: readonly string[];
  /** Identifies the placement (e.g. the schema version that set it); a change resets. */
  readonly membershipEpoch: string;
  /** ≥ 1 ms; see the module comment for what it must exceed. */
  readonly graceMs: number;
  /** Confirmations kept per peer (≥ 4). */
  readonly maxHistoryPerPeer?: number;
}

interface Confirmation {
  readonly tick: number;
  readonly atMs: number;
}

interface PeerLedger {
  incarnation: string | null;
  /** Sparse, ascending: at most one per `spacing` ms, oldest useful first. */
  history: Confirmation[];
  latestCleanAtMs: number;
}

export type PurgeVerdict =
  | { readonly purge: true }
  | { readonly purge: false; readonly reason: string; readonly peer?: string };

const MAX_TICK = 2 ** 32 - 1;
const DEFAULT_MAX_HISTORY = 16;

export class TombstoneLedger {
  readonly height: number;
  readonly self: string;
  private readonly graceMs: number;
  private readonly maxHistory: number;
  /** History entries are kept at least this far apart (grace / 8), bounding them to ~10. */
  private readonly spacingMs: number;
  private readonly leafTicks: Uint32Array;
  private tick = 0;
  /** Sessions that began at or before this tick predate the current membership. */
  private resetTick = 0;
  private replicas: readonly string[] = [];
  private epoch = '';
  private peers = new Map<string, PeerLedger>();
  /** Monotonic ms must not go backwards across records. */
  private lastRecordMs = -Infinity;

  constructor(options: TombstoneLedgerOptions) {
    assertHeight(options.height);
    if (!Number.isFinite(options.graceMs) || options.graceMs < 1) {
      throw new RangeError(`graceMs must be ≥ 1, got ${options.graceMs}`);
    }
    const maxHistory = options.maxHistoryPerPeer ?? DEFAULT_MAX_HISTORY;
    if (!Number.isInteger(maxHistory) || maxHistory < 4 || maxHistory > 1024) {
      throw new RangeError('maxHistoryPerPeer must be an integer in 4..1024');
    }
    this.height = options.height;
    this.self = options.self;
    this.graceMs = options.graceMs;
    this.maxHistory = maxHistory;
    this.spacingMs = options.graceMs / 8;
    this.leafTicks = new Uint32Array(2 ** options.height);
    this.setMembership(options.replicas, options.membershipEpoch);
  }

  /** Bytes held per shard replica: 4 per leaf, plus a few hundred per peer. */
  get memoryBytes(): number {
    return this.leafTicks.byteLength;
  }

  get currentTick(): number {
    return this.tick;
  }

  /** Replaces the replica set; any change (or a new epoch) drops every confirmation. */
  setMembership(replicas: readonly string[], epoch: string): void {
    const sorted = [...new Set(replicas)].sort();
    if (sorted.length !== replicas.length) throw new RangeError('replica listed twice');
    if (!sorted.includes(this.self)) throw new RangeError(`${this.self} is not among the replicas`);
    const same =
      epoch === this.epoch &&
      sorted.length === this.replicas.length &&
      sorted.every((r, i) => r === this.replicas[i]);
    if (same) return;
    this.replicas = sorted;
    this.epoch = epoch;
    this.resetTick = this.tick;
    this.peers = new Map(
      sorted
        .filter((r) => r !== this.self)
        .map((r) => [r, { incarnation: null, history: [], latestCleanAtMs: -Infinity }]),
    );
  }

  /** A tombstone entered our tree (write, repair, pull, scan): call once the tree holds it. */
  noteTombstone(treeKey: number): void {
    this.leafTicks[nodeAtLevel(treeKey, this.height)] = this.tick;
  }

  /** Convenience: note every tombstone among tree changes' new states. */
  noteEntry(next: Digest | null): void {
    if (next !== null && next.deleted) this.noteTombstone(treeKeyOf(next.id));
  }

  /** Call just before taking our root for a session (roots request); returns its start tick. */
  beginSession(): number {
    if (this.tick >= MAX_TICK) throw new Error('tombstone ledger tick exhausted');
    return ++this.tick;
  }

  /**
   * A session that began at `startTick` ended. `atMs` is a monotonic clock reading; `incarnation`
   * the peer's (from its roots reply). Unclean sessions add nothing but do not erase earlier
   * confirmations (a replica does not lose tombstones without a new incarnation).
   */
  recordSession(
    peer: string,
    startTick: number,
    outcome: { readonly clean: boolean },
    atMs: number,
    incarnation: string,
  ): void {
    if (!Number.isInteger(startTick) || startTick < 1 || startTick > this.tick) {
      throw new RangeError(`unknown session tick ${startTick}`);
    }
    if (atMs < this.lastRecordMs) throw new RangeError('monotonic clock went backwards');
    this.lastRecordMs = atMs;
    const ledger = this.peers.get(peer);
    if (ledger === undefined || startTick <= this.resetTick) return;
    if (ledger.incarnation !== incarnation) {
      ledger.incarnation = incarnation;
      ledger.history = [];
      ledger.latestCleanAtMs = -Infinity;
    }
    if (!outcome.clean) return;
    ledger.latestCleanAtMs = atMs;
    const last = ledger.history[ledger.history.length - 1];
    if (last === undefined || atMs - last.atMs >= this.spacingMs) {
      ledger.history.push({ tick: startTick, atMs });
    }
    // Entries older than the newest one that is already a grace period old are never needed.
    let keepFrom = 0;
    for (let i = 0; i < ledger.history.length; i++) {
      if (ledger.history[i]!.atMs + this.graceMs <= atMs) keepFrom = i;
    }
    if (keepFrom > 0) ledger.history = ledger.history.slice(keepFrom);
    // Dropping the oldest only delays purges.
    if (ledger.history.length > this.maxHistory) ledger.history.shift();
  }

  /** Whether a tombstone whose id has `treeKey` may be purged now, and if not, why. */
  purgeVerdict(treeKey: number): PurgeVerdict {
    if (this.peers.size === 0) return { purge: false, reason: 'no other replica can confirm' };
    const leafTick = this.leafTicks[nodeAtLevel(treeKey, this.height)]!;
    for (const [name, ledger] of this.peers) {
      let covered = false;
      let aged = false;
      for (const c of ledger.history) {
        if (c.tick > leafTick) {
          covered = true;
          if (c.atMs + this.graceMs <= ledger.latestCleanAtMs) aged = true;
        }
      }
      if (!covered) return { purge: false, reason: 'not confirmed since it arrived', peer: name };
      if (!aged) return { purge: false, reason: 'grace period not over', peer: name };
    }
    return { purge: true };
  }

  canPurge(treeKey: number): boolean {
    return this.purgeVerdict(treeKey).purge;
  }

  /**
   * Whether `peer` confirmed (a clean session since the tombstone's leaf last took a tombstone,
   * same incarnation, current membership) holding the tombstones of `treeKey`'s leaf.
   */
  confirmedBy(peer: string, treeKey: number): boolean {
    const ledger = this.peers.get(peer);
    if (ledger === undefined) return false;
    const leafTick = this.leafTicks[nodeAtLevel(treeKey, this.height)]!;
    return ledger.history.some((c) => c.tick > leafTick);
  }

  /** The GC view a SyncSession with `peer` needs. */
  sessionView(peer: string): TombstoneGcView {
    return {
      purgeable: (_tombstone, treeKey) => this.canPurge(treeKey),
      confirmedByPeer: (_tombstone, treeKey) => this.confirmedBy(peer, treeKey),
    };
  }
}

/** Our tombstones (from a store scan) that may be purged now, at most `limit`. */
export function planPurges(
  tombstones: Iterable<Digest>,
  ledger: TombstoneLedger,
  limit: number,
): PurgeRequest[] {
  const out: PurgeRequest[] = [];
  for (const t of tombstones) {
    if (out.length >= limit) break;
    if (t.deleted && ledger.canPurge(treeKeyOf(t.id))) out.push({ id: t.id, version: t.version });
  }
  return out;
}
