/**
 * What a leader knows about one follower's log and how it paces appends to it (etcd's
 * tracker.Progress). Three states:
 *
 * - probe: the follower's match is unknown. Send one append at a time and wait for the answer
 *   (or a heartbeat response) before the next, backing `next` off on rejections.
 * - replicate: the follower is known to match up to `match`. Stream appends optimistically,
 *   advancing `next` on send, with at most `maxInflight` unacknowledged messages.
 * - snapshot: the follower needs entries that are compacted; a snapshot is on its way. Send
 *   nothing until it is acknowledged (or reported failed, or presumed lost).
 */
import { invariant } from './errors.js';

export type ProgressState = 'probe' | 'replicate' | 'snapshot';

/** The unacknowledged appends of a replicating follower: the last index each one carried. */
export class Inflights {
  private lastIndices: number[] = [];

  constructor(readonly capacity: number) {}

  add(lastIndex: number): void {
    invariant(!this.full(), () => `in-flight window of ${this.capacity} overflowed`);
    this.lastIndices.push(lastIndex);
  }

  /** The follower acknowledged through `index`: those messages have landed. */
  freeTo(index: number): void {
    let landed = 0;
    while (landed < this.lastIndices.length && this.lastIndices[landed]! <= index) landed++;
    if (landed > 0) this.lastIndices = this.lastIndices.slice(landed);
  }

  full(): boolean {
    return this.lastIndices.length >= this.capacity;
  }

  get count(): number {
    return this.lastIndices.length;
  }

  reset(): void {
    this.lastIndices = [];
  }
}

export class Progress {
  /** The highest index known to be replicated (and durable) on the follower. */
  match = 0;
  /** The next index to send. match < next always. */
  next: number;
  state: ProgressState = 'probe';
  /** In snapshot state: the index of the snapshot being sent. */
  pendingSnapshot = 0;
  /** Heard from since the last check-quorum round; the leader itself always is. */
  recentActive = false;
  /** Probe: an append is in flight. Replicate: the window filled up. Either way, wait. */
  private paused = false;
  /** The highest commit index sent, so the leader knows whether the follower needs a new one. */
  private sentCommit = 0;
  /** A check-quorum round passed while in snapshot state with no answer (see snapshotOverdue). */
  private snapshotWaitedOneRound = false;
  readonly inflights: Inflights;

  constructor(
    next: number,
    maxInflight: number,
    public isLearner: boolean,
  ) {
    this.next = next;
    this.inflights = new Inflights(maxInflight);
  }

  private resetState(state: ProgressState): void {
    this.state = state;
    this.paused = false;
    this.pendingSnapshot = 0;
    this.snapshotWaitedOneRound = false;
    this.inflights.reset();
  }

  becomeProbe(): void {
    // After a snapshot, the follower holds at least the snapshot: probe right after it.
    const known =
      this.state === 'snapshot' ? Math.max(this.match, this.pendingSnapshot) : this.match;
    this.resetState('probe');
    this.next = known + 1;
  }

  becomeReplicate(): void {
    this.resetState('replicate');
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.resetState('snapshot');
    this.pendingSnapshot = snapshotIndex;
    this.next = snapshotIndex + 1;
  }

  /** A failed (or lost) snapshot: probe again from the last known match. */
  abandonSnapshot(): void {
    this.pendingSnapshot = 0;
    this.becomeProbe();
    // Wait for a heartbeat response before retrying, rather than spinning.
    this.paused = true;
  }

  /** The snapshot was delivered: probe after it, once the follower answers. */
  snapshotDelivered(): void {
    this.becomeProbe();
    this.paused = true;
  }

  /**
   * Called once per check-quorum interval (an election timeout). True when a snapshot has gone
   * unanswered for a full interval: presume it lost rather than wait forever — a driver that
   * never calls reportSnapshot would otherwise wedge the follower.
   */
  snapshotOverdue(): boolean {
    if (this.state !== 'snapshot') return false;
    if (this.snapshotWaitedOneRound) return true;
    this.snapshotWaitedOneRound = true;
    return false;
  }

  /** An append covering up to `index` was acknowledged. True if that is news. */
  maybeUpdate(index: number): boolean {
    let updated = false;
    if (this.match < index) {
      this.match = index;
      this.paused = false;
      updated = true;
    }
    this.next = Math.max(this.next, index + 1);
    return updated;
  }

  /**
   * The follower rejected an append whose prevIndex was `rejected`, hinting that its log can
   * match at most up to `matchHint`. Returns false for a stale rejection (of an append that is
   * no longer the latest probe, or below what is already matched).
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false;
      // `match` is known good: resume right after it.
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1);
    this.paused = false;
    return true;
  }

  /** Record an append of `count` entries starting at `next`. */
  sentEntries(count: number): void {
    if (this.state === 'replicate') {
      if (count > 0) {
        this.next += count;
        this.inflights.add(this.next - 1);
      }
      this.paused = this.inflights.full();
    } else if (this.state === 'probe' && count > 0) {
      this.paused = true;
    }
  }

  sentCommitIndex(commit: number): void {
    this.sentCommit = commit;
  }

  /** Whether an append now would tell the follower a commit index it has not been sent. */
  canBumpCommit(commit: number): boolean {
    // Only up to next - 1: the follower may not hold anything beyond that.
    return commit > this.sentCommit && this.sentCommit < this.next - 1;
  }

  /** A heartbeat response proves the follower is reachable: let one append through. */
  resume(): void {
    this.paused = false;
  }

  isPaused(): boolean {
    return this.state === 'snapshot' || this.paused;
  }
}
