/**
 * RaftNode: the core's public face (etcd's RawNode). Inputs are method calls — tick, step,
 * propose, … — and all output is collected into a Ready for the driver to act on.
 *
 * ## The Ready/advance contract
 *
 * The driver runs this loop; nothing else is safe:
 *
 *     if (node.hasReady()) {
 *       const rd = node.ready();
 *       // 1. Make durable, in this order (ideally as one atomic write):
 *       //    rd.snapshot  → storage.applySnapshot(rd.snapshot)  (replaces the log)
 *       //    rd.entries   → storage.append(rd.entries)          (first drops stored entries
 *       //                                                       from rd.entries[0].index on)
 *       //    rd.hardState → storage.setHardState(rd.hardState)
 *       //    Only rd.mustSync requires an fsync; a commit-only HardState change may be lazy.
 *       // 2. Only then send rd.messages (any order, may be dropped; never before step 1).
 *       // 3. Apply to the state machine, in order:
 *       //    rd.snapshot (restore the state machine from rd.snapshot.data), then each of
 *       //    rd.committedEntries; for a 'confChange' entry call
 *       //    node.applyConfChange(decodeConfChange(entry.data)) as part of applying it.
 *       //    Empty 'normal' entries are leader no-ops: skip them.
 *       //    rd.readStates: serve each read once the state machine has applied state.index.
 *       // 4. node.advance(rd).
 *     }
 *
 * Rules the core checks (RaftInvariantError on violation): ready() is never called twice
 * without advance() in between (hasReady() is false meanwhile), and advance() gets exactly the
 * last Ready. Between ready() and advance(), tick/step/propose/readIndex are allowed (e.g. while
 * the write of step 1 is in flight); their output goes into the next Ready (a leader snapshot
 * stepped meanwhile is taken up by advance(), so it never lands between the outstanding Ready's
 * committed entries and their application). Storage mutations
 * must come only from Ready contents (plus compaction of applied entries, and snapshots of the
 * applied state via storage.createSnapshot, at the driver's discretion).
 *
 * Why the order matters: a vote or an acknowledgement must never leave the node before the term,
 * vote and entries it depends on are durable (Raft §5, thesis §3.8), or a crash could produce two
 * votes in one term or lose a committed entry. The node's own vote and own acknowledgement of
 * its entries are likewise counted only in advance(), after the write.
 *
 * Committed entries may include entries from the same Ready's `entries`: they are durable after
 * step 1, before step 3 applies them. A Ready carrying a snapshot carries no committed entries.
 *
 * Crash model (for a simulation): a crash may happen anywhere. The node restarts from storage
 * with `new RaftNode({ storage, ... })` and its state machine from storage.snapshot() (or from
 * its own durable state, passing `applied`); committed entries after that are handed out again.
 * A Ready whose step 1 did not complete is lost as a whole — no message of it was sent, so
 * nothing depends on it — which is why step 1 should be one atomic write.
 */
import type { ConfChange, ConfState, Entry, HardState, NodeId, Snapshot } from '../types.js';
import { invariant } from './errors.js';
import { isResponse, messageProblem, type Message } from './messages.js';
import {
  Raft,
  type DropReason,
  type RaftConfig,
  type RaftStatus,
  type ReadState,
  type Role,
  type StepResult,
} from './raft.js';

/** Volatile state worth reporting (leader changes), not persisted. */
export interface SoftState {
  readonly leader: NodeId | null;
  readonly role: Role;
}

export interface Ready {
  /** Set when leader or role changed since the last Ready. */
  readonly softState: SoftState | null;
  /** Set when term, vote or commit changed since the last Ready: persist it. */
  readonly hardState: HardState | null;
  /** A snapshot from the leader: persist it, then restore the state machine from it. */
  readonly snapshot: Snapshot | null;
  /** Entries to append to stable storage BEFORE sending `messages`. */
  readonly entries: readonly Entry[];
  /** Entries to apply to the state machine, in order. */
  readonly committedEntries: readonly Entry[];
  /** To send AFTER `snapshot`, `entries` and `hardState` are durable. */
  readonly messages: readonly Message[];
  /** Linearizable reads that may be served once `index` is applied. */
  readonly readStates: readonly ReadState[];
  /** Whether this Ready's write needs an fsync (entries, a snapshot, or a term/vote change). */
  readonly mustSync: boolean;
}

export interface RaftNodeStatus extends RaftStatus {
  /** Network messages not acted on, by reason (see DropReason), since start. */
  readonly dropped: Readonly<Partial<Record<DropReason, number>>>;
}

export class RaftNode {
  private readonly raft: Raft;
  private prevSoftState: SoftState;
  private prevHardState: HardState;
  private outstanding: Ready | null = null;
  /** The node's own vote/acknowledgements covered by the outstanding Ready's write. */
  private stepsOnAdvance: Message[] = [];
  /** Leader snapshots that arrived while a Ready was outstanding: stepped by advance(). */
  private readonly snapshotsOnAdvance: Message[] = [];
  private readonly dropped: Partial<Record<DropReason, number>> = {};

  constructor(config: RaftConfig) {
    this.raft = new Raft(config);
    this.prevSoftState = this.softState();
    this.prevHardState = this.raft.hardState();
  }

  get id(): NodeId {
    return this.raft.id;
  }

  /** Advance logical time by one tick. */
  tick(): void {
    this.raft.tick();
  }

  /** Campaign now (pre-vote first if enabled). No-op for leaders and non-voters. */
  campaign(): void {
    this.raft.campaign();
  }

  /**
   * Feed a message from the network. It is validated first (a value decoded from the wire may be
   * passed as is): malformed, misaddressed, stale and otherwise inapplicable messages are dropped
   * and counted, never thrown on. Returns what happened to it.
   */
  step(message: Message): StepResult {
    const unchecked: unknown = message;
    let result: StepResult;
    if (messageProblem(unchecked) !== null) result = 'malformed';
    else if (message.to !== this.id || message.from === this.id) result = 'misaddressed';
    else if (isResponse(message) && !this.raft.tracker.isMember(message.from))
      result = 'unknownPeer';
    else if (message.type === 'snapshot' && this.outstanding !== null) {
      // A snapshot replaces membership at once; restoring it while the outstanding Ready still
      // has committed entries to apply would apply their membership changes on top of it.
      this.snapshotsOnAdvance.push(message);
      result = 'accepted';
    } else result = this.raft.step(message);
    if (result !== 'accepted') this.dropped[result] = (this.dropped[result] ?? 0) + 1;
    return result;
  }

  /**
   * Append `data` to the log (leader only). Returns the new entry: the proposal took effect iff
   * an entry with this index AND term is applied — a different term at that index means it was
   * lost to a leader change. Throws RequestRejectedError (notLeader with a leader hint to forward
   * to, noLeader, transferInProgress, uncommittedSizeLimit, notMember).
   */
  propose(data: Buffer): Entry {
    return this.raft.propose(data);
  }

  /**
   * Propose a membership change (leader only). One at a time: refused while another is
   * uncommitted or unapplied (confChangePending), before this leader committed an entry of its
   * term (termNotCommitted), or when it does not apply to the current membership
   * (invalidConfChange). Takes effect when applied — see applyConfChange.
   */
  proposeConfChange(change: ConfChange): Entry {
    return this.raft.proposeConfChange(change);
  }

  /**
   * Apply a committed membership change: the driver calls this when it applies a 'confChange'
   * entry, in log order. Returns the new membership (persist it with the state machine's
   * snapshots). A leader that removed itself steps down here.
   */
  applyConfChange(change: ConfChange): ConfState {
    return this.raft.applyConfChange(change);
  }

  /**
   * Request a linearizable read. Some later Ready carries ReadState { index, context }: serve the
   * read once the state machine has applied `index`. On a follower the request goes to the
   * leader. Requests can be lost (leader change, dropped messages) without an answer: time out
   * and retry. `context` must be unique among this node's outstanding reads. Throws
   * RequestRejectedError(noLeader) when no leader is known.
   */
  readIndex(context: string): void {
    this.raft.readIndex(context);
  }

  /**
   * Hand leadership to voter `to` (leader only): proposals are refused while the transfer runs;
   * once `to` has the whole log it gets TimeoutNow and campaigns immediately. Abandoned after an
   * election timeout. Throws RequestRejectedError (notLeader/noLeader/invalidTransferTarget).
   */
  transferLeadership(to: NodeId): void {
    this.raft.transferLeadership(to);
  }

  /** Transport feedback: whether a snapshot message reached `to` (speeds up recovery). */
  reportSnapshot(to: NodeId, delivered: boolean): void {
    this.raft.reportSnapshot(to, delivered);
  }

  /** Transport feedback: `to` could not be reached; stop streaming to it optimistically. */
  reportUnreachable(to: NodeId): void {
    this.raft.reportUnreachable(to);
  }

  hasReady(): boolean {
    if (this.outstanding !== null) return false;
    const raft = this.raft;
    const unstable = raft.log.unstable;
    return (
      !sameSoftState(this.softState(), this.prevSoftState) ||
      !sameHardState(raft.hardState(), this.prevHardState) ||
      unstable.nextSnapshot() !== null ||
      unstable.nextEntries().length > 0 ||
      raft.messages.length > 0 ||
      raft.selfMessages.length > 0 ||
      raft.readStates.length > 0 ||
      raft.log.hasNextCommittedEntries()
    );
  }

  ready(): Ready {
    invariant(this.outstanding === null, () => 'ready() called again before advance()');
    const raft = this.raft;
    const softState = this.softState();
    const hardState = raft.hardState();
    const hardStateChanged = !sameHardState(hardState, this.prevHardState);
    const entries = raft.log.unstable.nextEntries();
    const snapshot = raft.log.unstable.nextSnapshot();
    const rd: Ready = {
      softState: sameSoftState(softState, this.prevSoftState) ? null : softState,
      hardState: hardStateChanged ? hardState : null,
      snapshot,
      entries,
      committedEntries: raft.log.nextCommittedEntries(),
      messages: raft.messages,
      readStates: raft.readStates,
      mustSync:
        entries.length > 0 ||
        snapshot !== null ||
        hardState.term !== this.prevHardState.term ||
        hardState.vote !== this.prevHardState.vote,
    };
    // Accept: all of this is now the driver's to persist, send and apply.
    raft.messages = [];
    raft.readStates = [];
    this.stepsOnAdvance = raft.selfMessages;
    raft.selfMessages = [];
    raft.log.unstable.acceptInProgress();
    this.prevSoftState = softState;
    this.prevHardState = hardState;
    this.outstanding = rd;
    return rd;
  }

  /** The driver finished with `rd` (persisted, sent, applied): see the contract above. */
  advance(rd: Ready): void {
    invariant(
      rd === this.outstanding,
      () => 'advance() must get the Ready last returned by ready()',
    );
    this.outstanding = null;
    const log = this.raft.log;
    const snapshotIndex = rd.snapshot?.metadata.index ?? null;
    log.stableTo(rd.entries[rd.entries.length - 1] ?? null, snapshotIndex);
    if (snapshotIndex !== null) log.appliedTo(snapshotIndex);
    const lastApplied = rd.committedEntries[rd.committedEntries.length - 1];
    if (lastApplied) {
      log.appliedTo(lastApplied.index);
      this.raft.reduceUncommittedSize(rd.committedEntries);
    }
    // Now durable: count our own vote and acknowledgements. (Stale ones — the term moved on
    // meanwhile — are ignored by step like any stale message.)
    const steps = this.stepsOnAdvance;
    this.stepsOnAdvance = [];
    for (const m of steps) this.raft.step(m);
    for (const m of this.snapshotsOnAdvance.splice(0)) this.step(m);
  }

  status(): RaftNodeStatus {
    return { ...this.raft.status(), dropped: { ...this.dropped } };
  }

  /**
   * Diagnostic: the term of this node's entry at `index` (persisted or not), or undefined when
   * compacted or past the end. For invariant checks in tests and simulations.
   */
  termAt(index: number): number | undefined {
    return this.raft.log.term(index);
  }

  private softState(): SoftState {
    return { leader: this.raft.lead, role: this.raft.role };
  }
}

function sameSoftState(a: SoftState, b: SoftState): boolean {
  return a.leader === b.leader && a.role === b.role;
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}
