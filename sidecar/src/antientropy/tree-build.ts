/**
 * Building a shard replica's hash tree from a scan of its store while writes keep arriving, and
 * keeping it exact afterwards.
 *
 * Contract with the data path (the "write notification" invariant): every write the store applies
 * to the shard is bracketed by `beginWrite()` (before the store call is issued) and
 * `endWrite(ticket, change)` (after it answered), where `change` is the record's exact previous
 * and new digest, or null if the write did not apply. XOR deltas telescope and commute, so
 * notifications for one id may arrive in any order; what must never happen is a change reported
 * twice or not at all.
 *
 * The race a build must survive: the scan reads a page at some instant, writes to ids on that page
 * apply before or after it, and their notifications may arrive before or after the page's reply
 * is processed. For one id the store's versions only increase (ifNewer is strictly newer; repair's
 * ifVersion writes a winner at least as new), so the states form a chain c0 → c1 → … → final, and
 * the page saw one of them, s. The tree must end up holding h(final). It holds h(s) from the
 * scan, plus the deltas h(prev) ⊕ h(next) of exactly the changes with next > s (those applied after
 * the read): they telescope from s to final. A change with next ≤ s is already in s and is dropped.
 * So for every change we need s — the scanned state of its id — and we have it:
 *   - change for an id the scan has not covered yet: buffered in `pending`, filtered when its page
 *     is processed (s is on that page, or absent → null);
 *   - change for a covered id whose write began before that page was processed: the page is still
 *     retained (below), s is looked up;
 *   - change for a covered id whose write began after the page was processed: the store applied
 *     it after the read, so next > s necessarily; applied directly.
 * A processed page is retained while any write that began before its processing is still open;
 * writes are short, so this is a handful of pages. Memory is bounded by explicit limits (throws
 * `TreeBuildOverflowError`; the caller restarts the build).
 *
 * Purges (next = null) carry no version to compare, so they are refused until the tree is
 * `acceptsPurges` (ready, nothing retained); tombstone GC only runs on a ready tree anyway.
 *
 * The tree is in bulk mode (leaves only) until the scan ends; `endBulk` then derives the inner
 * nodes. Sessions and digests need `ready`.
 */
import type { Digest } from '../storage/object-store.js';
import { HashTree } from './hash-tree.js';
import { compareDigests } from '../replication/resolution.js';

/** What one applied write did to one record. */
export interface TreeChange {
  readonly id: string;
  readonly prev: Digest | null;
  readonly next: Digest | null;
}

export interface WriteTicket {
  readonly seq: number;
  /** Pages processed when the write began; 0 for untracked tickets (after the build). */
  readonly pagesAtBegin: number;
}

export interface TreeBuildLimits {
  /** Changes buffered for ids the scan has not reached yet. */
  readonly maxPendingChanges: number;
  /** Processed pages kept for writes that were open when they were processed. */
  readonly maxRetainedPages: number;
  /** Writes between beginWrite and endWrite during the build. */
  readonly maxOpenWrites: number;
}

export const DEFAULT_TREE_BUILD_LIMITS: TreeBuildLimits = {
  maxPendingChanges: 262_144,
  maxRetainedPages: 64,
  maxOpenWrites: 100_000,
};

export class TreeBuildOverflowError extends Error {
  override readonly name = 'TreeBuildOverflowError';
}

interface RetainedPage {
  /** 1-based number of the page among processed pages. */
  readonly number: number;
  /** Covered ids: (after, through]; `after` null = from the start, `through` null = to the end. */
  readonly after: string | null;
  readonly through: string | null;
  readonly entries: ReadonlyMap<string, Digest>;
}

/** Ticket for writes that began once the build was over and nothing was retained. */
const UNTRACKED: WriteTicket = { seq: 0, pagesAtBegin: 0 };

export type TreeState = 'building' | 'ready';

export class TreeMaintainer {
  readonly tree: HashTree;
  private readonly limits: TreeBuildLimits;
  private phase: TreeState = 'building';
  /** Ids ≤ cursor are covered by processed pages; null = none yet. */
  private cursor: string | null = null;
  private pagesProcessed = 0;
  private nextSeq = 1;
  private readonly openWrites = new Map<number, number>();
  private readonly pending = new Map<string, TreeChange[]>();
  private pendingCount = 0;
  private retained: RetainedPage[] = [];
  private readonly stats = { changesDropped: 0, changesBuffered: 0, pagesRetained: 0 };

  /**
   * Create it BEFORE the shard accepts writes (every write must get a ticket from it), then feed
   * the scan with `applyScanPage`. An empty shard: one `applyScanPage([], undefined)`.
   */
  constructor(height: number, limits: TreeBuildLimits = DEFAULT_TREE_BUILD_LIMITS) {
    this.tree = new HashTree(height);
    this.tree.beginBulk();
    this.limits = limits;
  }

  get state(): TreeState {
    return this.phase;
  }

  /** Purges may be reported (ready and no page retained). Once true, stays true. */
  get acceptsPurges(): boolean {
    return this.phase === 'ready' && this.retained.length === 0;
  }

  /** For metrics and tests. */
  get buildStats(): {
    readonly changesDropped: number;
    readonly changesBuffered: number;
    readonly pagesRetained: number;
    readonly openWrites: number;
  } {
    return { ...this.stats, openWrites: this.openWrites.size };
  }

  beginWrite(): WriteTicket {
    if (this.phase === 'ready' && this.retained.length === 0) return UNTRACKED;
    if (this.openWrites.size >= this.limits.maxOpenWrites) {
      throw new TreeBuildOverflowError(
        `more than ${this.limits.maxOpenWrites} writes open during the tree build`,
      );
    }
    const seq = this.nextSeq++;
    this.openWrites.set(seq, this.pagesProcessed);
    return { seq, pagesAtBegin: this.pagesProcessed };
  }

  /** The write of `ticket` is over: `change` is what it did, null if it applied nothing. */
  endWrite(ticket: WriteTicket, change: TreeChange | null): void {
    if (ticket.seq !== 0) {
      if (!this.openWrites.delete(ticket.seq)) {
        throw new Error(`write ticket ${ticket.seq} is not open (ended twice, or not ours)`);
      }
    }
    if (change !== null) this.route(change);
    this.releaseRetained();
  }

  private route(change: TreeChange): void {
    const { id, prev, next } = change;
    if (prev !== null && prev.id !== id) throw new RangeError(`prev is for ${prev.id}, not ${id}`);
    if (next !== null && next.id !== id) throw new RangeError(`next is for ${next.id}, not ${id}`);
    if (next === null) {
      if (!this.acceptsPurges) {
        throw new Error('a purge was reported while the hash tree is being built');
      }
      this.tree.update(id, prev, null);
      return;
    }
    if (this.phase === 'building' && (this.cursor === null || id > this.cursor)) {
      if (this.pendingCount >= this.limits.maxPendingChanges) {
        throw new TreeBuildOverflowError(
          `more than ${this.limits.maxPendingChanges} writes arrived during the tree build`,
        );
      }
      const list = this.pending.get(id);
      if (list) list.push(change);
      else this.pending.set(id, [change]);
      this.pendingCount++;
      this.stats.changesBuffered++;
      return;
    }
    const page = this.retainedPageFor(id);
    if (page !== undefined) {
      this.applyIfAfter(change, page.entries.get(id) ?? null);
      return;
    }
    this.tree.update(id, prev, next);
  }

  /** Applies `change` iff it is newer than the scanned state `seen` (see the module comment). */
  private applyIfAfter(change: TreeChange, seen: Digest | null): void {
    const next = change.next!;
    if (seen === null || compareDigests(next, seen) > 0) {
      this.tree.update(change.id, change.prev, next);
    } else {
      this.stats.changesDropped++;
    }
  }

  private retainedPageFor(id: string): RetainedPage | undefined {
    for (const page of this.retained) {
      if (
        (page.after === null || id > page.after) &&
        (page.through === null || id <= page.through)
      ) {
        return page;
      }
    }
    return undefined;
  }

  /**
   * One page of `store.scanDigests` in id order: `items` and the page's `nextAfter` (absent at the
   * end of the shard). Pages must be consecutive, starting with `after` unset.
   */
  applyScanPage(items: readonly Digest[], nextAfter: string | undefined): void {
    if (this.phase !== 'building') throw new Error('the hash tree build is already complete');
    const after = this.cursor;
    const through = nextAfter ?? null;
    if (through !== null && after !== null && through <= after) {
      throw new RangeError(`scan went backwards: ${through} after ${after}`);
    }
    let previous = after;
    const entries = new Map<string, Digest>();
    for (const item of items) {
      if (previous !== null && item.id <= previous) {
        throw new RangeError(`scan page out of order at ${item.id}`);
      }
      if (through !== null && item.id > through) {
        throw new RangeError(`scan item ${item.id} beyond the page end ${through}`);
      }
      previous = item.id;
      entries.set(item.id, item);
      this.tree.update(item.id, null, item);
    }
    // Changes buffered for ids this page covers: keep exactly those newer than what it saw.
    for (const [id, changes] of this.pending) {
      if ((after === null || id > after) && (through === null || id <= through)) {
        const seen = entries.get(id) ?? null;
        for (const change of changes) this.applyIfAfter(change, seen);
        this.pending.delete(id);
        this.pendingCount -= changes.length;
      }
    }
    this.pagesProcessed++;
    this.cursor = through;
    if (this.openWrites.size > 0) {
      if (this.retained.length >= this.limits.maxRetainedPages) {
        throw new TreeBuildOverflowError(
          `more than ${this.limits.maxRetainedPages} scan pages retained for open writes`,
        );
      }
      this.retained.push({ number: this.pagesProcessed, after, through, entries });
      this.stats.pagesRetained++;
    }
    if (through === null) {
      if (this.pending.size !== 0 || this.pendingCount !== 0) {
        throw new Error('hash tree build ended with changes still pending');
      }
      this.tree.endBulk();
      this.phase = 'ready';
    }
  }

  /** Drops pages that no open write began before. */
  private releaseRetained(): void {
    if (this.retained.length === 0) return;
    let oldest = Infinity;
    for (const began of this.openWrites.values()) if (began < oldest) oldest = began;
    this.retained = this.retained.filter((page) => page.number > oldest);
  }
}
