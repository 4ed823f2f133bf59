/**
 * The Raft protocol as a deterministic state machine (etcd-io/raft's raft.go): messages and ticks
 * in; outgoing messages, log changes and read states accumulate here and leave through RaftNode's
 * Ready. No timers, no I/O, no ambient randomness: time is `tick()`, randomness is `random`.
 *
 * Features: pre-vote (thesis §9.6), check-quorum with lease-style vote rejection (§6.2/§9.6 as
 * etcd does it), probe/replicate flow control, fast log back-off, snapshots, single-server
 * membership changes with learners (§4), leadership transfer (§3.10), ReadIndex reads (§6.4).
 *
 * Section references are to Ongaro's thesis ("Consensus: Bridging Theory and Practice") unless
 * they say "Raft §", the paper.
 */
import {
  EMPTY_HARD_STATE,
  encodeConfChange,
  type ConfChange,
  type ConfState,
  type Entry,
  type EntryType,
  type HardState,
  type NodeId,
  type RaftStorage,
  type Snapshot,
} from '../types.js';
import { applyConfChangeTo, confChangeProblem } from './conf-change.js';
import { payloadSize } from './entry-size.js';
import { invariant, RequestRejectedError, type RejectionReason } from './errors.js';
import { RaftLog } from './log.js';
import type {
  AppendMessage,
  AppendRespMessage,
  HeartbeatMessage,
  HeartbeatRespMessage,
  Message,
  OutgoingMessage,
  PreVoteMessage,
  SnapshotMessage,
  VoteMessage,
} from './messages.js';
import type { Progress, ProgressState } from './progress.js';
import { ReadOnly, type ReadRequest } from './read-only.js';
import { ProgressTracker } from './tracker.js';

export type Role = 'follower' | 'preCandidate' | 'candidate' | 'leader';

export interface RaftConfig {
  readonly id: NodeId;
  readonly storage: RaftStorage;
  /**
   * Ticks without hearing from a leader before campaigning; randomized in
   * [electionTick, 2·electionTick).
   */
  readonly electionTick: number;
  /** Ticks between a leader's heartbeats. Must be < electionTick (etcd suggests 1/10). */
  readonly heartbeatTick: number;
  /** Uniform in [0, 1). Inject a seeded PRNG for reproducible runs. */
  readonly random: () => number;
  /** Pre-vote before each election (default true). */
  readonly preVote?: boolean;
  /**
   * A leader steps down without a live quorum; followers ignore votes within a leader's lease
   * (default true).
   */
  readonly checkQuorum?: boolean;
  /** Payload bytes per append message; at least one entry is always sent (default 1 MiB). */
  readonly maxSizePerMsg?: number;
  /** Unacknowledged append messages per replicating follower (default 256). */
  readonly maxInflightMsgs?: number;
  /** Payload bytes a leader may hold uncommitted before refusing proposals (default: no limit). */
  readonly maxUncommittedEntriesSize?: number;
  /** Payload bytes of committed entries per Ready (default 8 MiB). */
  readonly maxCommittedSizePerReady?: number;
  /**
   * The index the driver's state machine has applied, if it persists its state beyond the storage
   * snapshot (default: the storage snapshot's index). storage.initialState().confState must then
   * be the membership as of this index.
   */
  readonly applied?: number;
}

/** A linearizable read may be served for `context` once the state machine has applied `index`. */
export interface ReadState {
  readonly index: number;
  readonly context: string;
}

/** Why a message from the network was not acted on (see RaftNode.step). */
export type DropReason =
  /** Fails validation (`messageProblem`). */
  | 'malformed'
  /** Not addressed to this node, or claims to come from it. */
  | 'misaddressed'
  /** A response from a node outside the configuration. */
  | 'unknownPeer'
  /** From an older term: normal after elections, answered where that helps the sender catch up. */
  | 'staleTerm'
  /** A (pre-)vote while this node hears from a live leader (check-quorum lease). */
  | 'inLease'
  /**
   * Claims leadership of this node's current term, which another node holds: election safety is
   * broken somewhere (a bug, lost persistence, or a foreign message).
   */
  | 'conflictingLeader'
  /** Well-formed but impossible from a correct peer (e.g. acknowledges entries we don't have). */
  | 'implausible';

export type StepResult = 'accepted' | DropReason;

export interface ProgressStatus {
  readonly match: number;
  readonly next: number;
  readonly state: ProgressState;
  readonly recentActive: boolean;
  readonly isLearner: boolean;
  readonly pendingSnapshot: number;
  readonly inflight: number;
}

export interface RaftStatus {
  readonly id: NodeId;
  readonly term: number;
  readonly vote: NodeId | null;
  readonly leader: NodeId | null;
  readonly role: Role;
  readonly commit: number;
  readonly applied: number;
  readonly firstIndex: number;
  readonly lastIndex: number;
  readonly confState: ConfState;
  readonly leadTransferee: NodeId | null;
  /** Per member, on the leader only. */
  readonly progress: Readonly<Record<NodeId, ProgressStatus>> | null;
}

type CampaignKind = 'preElection' | 'election' | 'transfer';

const NO_OP = Buffer.alloc(0);

const DEFAULTS = {
  preVote: true,
  checkQuorum: true,
  maxSizePerMsg: 1024 * 1024,
  maxInflightMsgs: 256,
  maxUncommittedEntriesSize: Infinity,
  maxCommittedSizePerReady: 8 * 1024 * 1024,
};

export class Raft {
  readonly id: NodeId;
  term = 0;
  vote: NodeId | null = null;
  lead: NodeId | null = null;
  role: Role = 'follower';
  readonly log: RaftLog;
  readonly tracker: ProgressTracker;

  /** Messages to other nodes; the Ready carrying them is persisted before they are sent. */
  messages: Message[] = [];
  /**
   * Responses to this node itself — its own vote, its own acknowledgement of appended entries.
   * They count only once durable, so RaftNode steps them on advance() (etcd's msgsAfterAppend).
   */
  selfMessages: Message[] = [];
  readStates: ReadState[] = [];

  private readonly electionTimeout: number;
  private readonly heartbeatTimeout: number;
  private readonly random: () => number;
  private readonly preVote: boolean;
  private readonly checkQuorum: boolean;
  private readonly maxSizePerMsg: number;
  private readonly maxUncommittedSize: number;

  /**
   * Follower/candidate: ticks since the last election timeout or since hearing from the leader.
   * Leader: ticks since the last check-quorum round.
   */
  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;

  private readOnly = new ReadOnly();
  /** Reads that reached a new leader before it committed an entry of its term. */
  private readsAwaitingCommit: ReadRequest[] = [];
  /** The target of a leadership transfer in progress. */
  private leadTransferee: NodeId | null = null;
  /**
   * Index of the latest membership change this leader may have in its log: another change is
   * refused until it is applied. Starts at the new leader's no-op, so a leader also cannot change
   * membership before committing an entry of its term.
   */
  private pendingConfIndex = 0;
  /** Payload bytes of this leader's uncommitted tail (an estimate that never overcounts). */
  private uncommittedSize = 0;
  /** The leader's last entry: its log must never lose it (a leader never overwrites its log). */
  private leaderLast = { index: 0, term: 0 };

  constructor(config: RaftConfig) {
    const options = { ...DEFAULTS, ...stripUndefined(config) };
    validateConfig(options);
    this.id = options.id;
    this.electionTimeout = options.electionTick;
    this.heartbeatTimeout = options.heartbeatTick;
    this.random = options.random;
    this.preVote = options.preVote;
    this.checkQuorum = options.checkQuorum;
    this.maxSizePerMsg = options.maxSizePerMsg;
    this.maxUncommittedSize = options.maxUncommittedEntriesSize;
    this.log = new RaftLog(options.storage, options.maxCommittedSizePerReady);
    this.tracker = new ProgressTracker(options.maxInflightMsgs);

    const { hardState, confState } = options.storage.initialState();
    this.tracker.setConfiguration(confState, this.log.lastIndex() + 1);
    this.loadHardState(hardState);
    if (options.applied !== undefined) this.log.appliedTo(options.applied);
    this.becomeFollower(this.term, null);
  }

  private loadHardState(state: HardState): void {
    if (state.term === EMPTY_HARD_STATE.term && state.vote === null && state.commit === 0) return;
    invariant(
      state.commit <= this.log.lastIndex(),
      () => `stored commit ${state.commit} is past the last index ${this.log.lastIndex()}`,
    );
    // The storage snapshot is committed even if the stored commit index lags it.
    this.log.commitTo(state.commit);
    this.term = state.term;
    this.vote = state.vote;
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  // ---------------------------------------------------------------------------------------------
  // Time

  tick(): void {
    if (this.role === 'leader') this.tickHeartbeat();
    else this.tickElection();
    this.assertLeaderLogIntact();
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.hup(this.preVote ? 'preElection' : 'election');
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.electionTimeout) {
      this.electionElapsed = 0;
      this.leaderIntervalElapsed();
      if (this.role !== 'leader') return;
    }
    if (this.heartbeatElapsed >= this.heartbeatTimeout) {
      this.heartbeatElapsed = 0;
      this.broadcastHeartbeat(this.readOnly.newestKey());
    }
  }

  /** Once per election timeout on a leader: check-quorum, overdue snapshots, stalled transfers. */
  private leaderIntervalElapsed(): void {
    for (const id of this.peers()) {
      const pr = this.tracker.get(id)!;
      if (pr.snapshotOverdue()) pr.abandonSnapshot();
    }
    if (this.checkQuorum) {
      if (!this.tracker.quorumActive()) {
        // Cannot reach a majority: a newer leader may exist. Stop serving (thesis §6.2).
        this.becomeFollower(this.term, null);
        return;
      }
      for (const id of this.peers()) this.tracker.get(id)!.recentActive = false;
    }
    // A transfer that did not finish within an election timeout is abandoned (thesis §3.10).
    this.leadTransferee = null;
  }

  // ---------------------------------------------------------------------------------------------
  // Role transitions

  private becomeFollower(term: number, lead: NodeId | null): void {
    this.reset(term);
    this.lead = lead;
    this.role = 'follower';
  }

  private becomePreCandidate(): void {
    invariant(this.role !== 'leader', () => 'a leader cannot become a pre-candidate');
    // Deliberately no term change and no vote: a pre-vote commits nobody to anything.
    this.tracker.resetVotes();
    this.lead = null;
    this.role = 'preCandidate';
  }

  private becomeCandidate(): void {
    invariant(this.role !== 'leader', () => 'a leader cannot become a candidate');
    this.reset(this.term + 1);
    this.setVote(this.id);
    this.role = 'candidate';
  }

  private becomeLeader(): void {
    invariant(this.role === 'candidate', () => `${this.role} cannot become leader`);
    this.reset(this.term);
    this.lead = this.id;
    this.role = 'leader';
    const self = this.tracker.get(this.id);
    invariant(self !== undefined, () => 'a leader must be a member');
    self.becomeReplicate();
    self.recentActive = true;
    // Commit an entry of the new term promptly: it commits every earlier entry with it (Raft §8),
    // and it gates reads and membership changes.
    const noOp = this.appendEntry('normal', NO_OP);
    invariant(noOp !== null, () => 'the no-op entry was refused');
    this.pendingConfIndex = noOp.index;
  }

  private reset(term: number): void {
    invariant(term >= this.term, () => `term would go back from ${this.term} to ${term}`);
    if (term !== this.term) {
      this.term = term;
      this.vote = null;
    }
    this.lead = null;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.leadTransferee = null;
    this.tracker.resetVotes();
    const lastIndex = this.log.lastIndex();
    this.tracker.resetProgress(lastIndex + 1);
    const self = this.tracker.get(this.id);
    if (self) self.match = lastIndex;
    this.pendingConfIndex = 0;
    this.uncommittedSize = 0;
    this.readOnly = new ReadOnly();
    this.readsAwaitingCommit = [];
  }

  private resetRandomizedElectionTimeout(): void {
    const r = this.random();
    invariant(r >= 0 && r < 1, () => `random() returned ${r}, outside [0, 1)`);
    this.randomizedElectionTimeout = this.electionTimeout + Math.floor(r * this.electionTimeout);
  }

  private setVote(candidate: NodeId): void {
    invariant(
      this.vote === null || this.vote === candidate,
      () => `second vote in term ${this.term}: ${this.vote} then ${candidate}`,
    );
    this.vote = candidate;
  }

  /** Only a voter may campaign; not while a received snapshot is still being persisted. */
  promotable(): boolean {
    return this.tracker.isVoter(this.id) && !this.log.hasPendingSnapshot();
  }

  // ---------------------------------------------------------------------------------------------
  // Elections

  /** Start an election now (pre-vote first if enabled), as if the election timeout elapsed. */
  campaign(): void {
    this.hup(this.preVote ? 'preElection' : 'election');
  }

  private hup(kind: CampaignKind): void {
    if (this.role === 'leader' || !this.promotable()) return;
    // A committed but unapplied membership change may alter who votes: apply it first.
    if (this.log.hasConfChangeIn(this.log.applied + 1, this.log.committed + 1)) return;
    this.startCampaign(kind);
  }

  private startCampaign(kind: CampaignKind): void {
    let electionTerm: number;
    if (kind === 'preElection') {
      this.becomePreCandidate();
      electionTerm = this.term + 1;
    } else {
      this.becomeCandidate();
      electionTerm = this.term;
    }
    const lastIndex = this.log.lastIndex();
    const lastTerm = this.log.lastTerm();
    for (const id of this.tracker.voterIds()) {
      if (id === this.id) {
        const type = kind === 'preElection' ? 'preVoteResp' : 'voteResp';
        this.send({ type, to: id, term: electionTerm, reject: false });
      } else if (kind === 'preElection') {
        this.send({ type: 'preVote', to: id, term: electionTerm, lastIndex, lastTerm });
      } else {
        const leadershipTransfer = kind === 'transfer';
        this.send({
          type: 'vote',
          to: id,
          term: electionTerm,
          lastIndex,
          lastTerm,
          leadershipTransfer,
        });
      }
    }
  }

  /** Within a leader's lease: this node heard from a leader less than an election timeout ago. */
  private inLease(): boolean {
    return this.checkQuorum && this.lead !== null && this.electionElapsed < this.electionTimeout;
  }

  private handleVoteRequest(m: PreVoteMessage | VoteMessage): void {
    const responseType = m.type === 'vote' ? 'voteResp' : 'preVoteResp';
    const canVote =
      this.vote === m.from ||
      (this.vote === null && this.lead === null) ||
      // A pre-vote is for a future term: no vote of ours is at stake yet.
      (m.type === 'preVote' && m.term > this.term);
    if (canVote && this.log.isUpToDate(m.lastIndex, m.lastTerm)) {
      // Answer with the election's term, not ours: for pre-votes ours is older, and the
      // pre-candidate would discard a response from an older term.
      this.send({ type: responseType, to: m.from, term: m.term, reject: false });
      if (m.type === 'vote') {
        this.electionElapsed = 0;
        this.setVote(m.from);
      }
    } else {
      this.send({ type: responseType, to: m.from, reject: true });
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Message dispatch

  step(m: Message): StepResult {
    const result = this.stepMessage(m);
    this.assertLeaderLogIntact();
    return result;
  }

  private stepMessage(m: Message): StepResult {
    if (m.term > this.term) {
      if (m.type === 'preVote' || m.type === 'vote') {
        const forced = m.type === 'vote' && m.leadershipTransfer;
        // Lease-style rejection (thesis §9.6 with check-quorum): while a live leader is known,
        // a node that campaigns (e.g. one rejoining from a partition) is ignored — no term bump.
        if (!forced && this.inLease()) return 'inLease';
      }
      if (m.type === 'preVote' || (m.type === 'preVoteResp' && !m.reject)) {
        // Never adopt a term from a pre-vote or a granted pre-vote response: that term may never
        // be campaigned for. (A rejection carries the rejecter's real, newer term.)
      } else {
        const fromLeader = m.type === 'append' || m.type === 'heartbeat' || m.type === 'snapshot';
        this.becomeFollower(m.term, fromLeader ? m.from : null);
      }
    } else if (m.term < this.term) {
      this.answerStaleMessage(m);
      return 'staleTerm';
    }

    if (m.type === 'preVote' || m.type === 'vote') {
      this.handleVoteRequest(m);
      return 'accepted';
    }
    switch (this.role) {
      case 'leader':
        return this.stepLeader(m);
      case 'candidate':
      case 'preCandidate':
        return this.stepCandidate(m);
      case 'follower':
        return this.stepFollower(m);
    }
  }

  private answerStaleMessage(m: Message): void {
    if (m.type === 'append' || m.type === 'heartbeat') {
      // A leader of an older term. With pre-vote/check-quorum nodes do not bump terms freely, so
      // it may never learn of the newer term otherwise: tell it, and it steps down.
      this.send({
        type: 'appendResp',
        to: m.from,
        index: 0,
        reject: false,
        hintIndex: 0,
        hintTerm: 0,
      });
    } else if (m.type === 'preVote') {
      // Rejecting (with our newer term) rather than ignoring lets a lagging pre-candidate catch up.
      this.send({ type: 'preVoteResp', to: m.from, reject: true });
    }
  }

  private stepLeader(m: Message): StepResult {
    switch (m.type) {
      case 'appendResp':
        return this.handleAppendResponse(m);
      case 'heartbeatResp':
        return this.handleHeartbeatResponse(m);
      case 'readIndex':
        this.handleReadRequest({ from: m.from, context: m.context });
        return 'accepted';
      case 'append':
      case 'heartbeat':
      case 'snapshot':
        return 'conflictingLeader';
      default:
        // Late vote responses and the like: nothing left to do.
        return 'accepted';
    }
  }

  private stepCandidate(m: Message): StepResult {
    switch (m.type) {
      case 'append':
      case 'heartbeat':
      case 'snapshot':
        // Someone won this term's election.
        this.becomeFollower(m.term, m.from);
        return this.stepFollower(m);
      case 'preVoteResp':
      case 'voteResp': {
        // A candidate may still get answers from its pre-vote phase: ignore those.
        const expected = this.role === 'preCandidate' ? 'preVoteResp' : 'voteResp';
        if (m.type === expected) this.poll(m.from, !m.reject);
        return 'accepted';
      }
      default:
        return 'accepted';
    }
  }

  private poll(from: NodeId, granted: boolean): void {
    this.tracker.recordVote(from, granted);
    switch (this.tracker.voteResult()) {
      case 'won':
        if (this.role === 'preCandidate') {
          this.startCampaign('election');
        } else {
          this.becomeLeader();
          this.broadcastAppend();
        }
        break;
      case 'lost':
        this.becomeFollower(this.term, null);
        break;
      case 'pending':
        break;
    }
  }

  private stepFollower(m: Message): StepResult {
    switch (m.type) {
      case 'append':
      case 'heartbeat':
      case 'snapshot':
        if (this.lead !== null && this.lead !== m.from) return 'conflictingLeader';
        this.electionElapsed = 0;
        this.lead = m.from;
        if (m.type === 'append') this.handleAppend(m);
        else if (m.type === 'heartbeat') this.handleHeartbeat(m);
        else this.handleSnapshot(m);
        return 'accepted';
      case 'timeoutNow':
        // Transfers skip pre-vote: the leader asked, so there is no partition to guard against.
        this.hup('transfer');
        return 'accepted';
      case 'readIndexResp':
        this.readStates.push({ index: m.index, context: m.context });
        return 'accepted';
      default:
        return 'accepted';
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Follower: replication

  private handleAppend(m: AppendMessage): void {
    if (m.prevIndex < this.log.committed) {
      // Our committed prefix is settled; tell the leader where it ends.
      this.sendAppendResponse(m.from, this.log.committed);
      return;
    }
    const lastMatch = this.log.maybeAppend(m.prevIndex, m.prevTerm, m.commit, m.entries);
    if (lastMatch !== null) {
      this.sendAppendResponse(m.from, lastMatch);
      return;
    }
    // No entry (prevIndex, prevTerm) here. Hint where a match is still possible, skipping every
    // entry of ours with a term above prevTerm (those cannot be in the leader's log there).
    const hint = this.log.findConflictByTerm(
      Math.min(m.prevIndex, this.log.lastIndex()),
      m.prevTerm,
    );
    this.send({
      type: 'appendResp',
      to: m.from,
      index: m.prevIndex,
      reject: true,
      hintIndex: hint.index,
      hintTerm: hint.term,
    });
  }

  private sendAppendResponse(to: NodeId, index: number): void {
    this.send({ type: 'appendResp', to, index, reject: false, hintIndex: 0, hintTerm: 0 });
  }

  private handleHeartbeat(m: HeartbeatMessage): void {
    this.log.commitTo(m.commit);
    this.send({ type: 'heartbeatResp', to: m.from, context: m.context });
  }

  private handleSnapshot(m: SnapshotMessage): void {
    const restored = this.restore(m.snapshot);
    this.sendAppendResponse(m.from, restored ? this.log.lastIndex() : this.log.committed);
  }

  /** Adopts a snapshot from the leader unless our log already covers it. True if restored. */
  private restore(snapshot: Snapshot): boolean {
    invariant(this.role === 'follower', () => `${this.role} asked to restore a snapshot`);
    const { index, term, confState } = snapshot.metadata;
    if (index <= this.log.committed) return false;
    if (this.log.matchTerm(index, term)) {
      // We hold the snapshot's last entry, hence (Log Matching) everything before it: it only
      // tells us that much is committed.
      this.log.commitTo(index);
      return false;
    }
    this.log.restore(snapshot);
    this.tracker.setConfiguration(confState, this.log.lastIndex() + 1);
    return true;
  }

  // ---------------------------------------------------------------------------------------------
  // Leader: replication

  private peers(): NodeId[] {
    return this.tracker.memberIds().filter((id) => id !== this.id);
  }

  private broadcastAppend(): void {
    for (const id of this.peers()) this.sendAppend(id);
  }

  private sendAppend(to: NodeId): void {
    this.maybeSendAppend(to, true);
  }

  /**
   * Sends `to` the entries from its `next` (or a snapshot if those are compacted), unless flow
   * control pauses it. With `sendIfEmpty` false, only sends if there are entries. True if sent.
   */
  private maybeSendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.tracker.get(to);
    if (!pr || pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    if (this.log.isCompacted(prevIndex)) return this.maybeSendSnapshot(to, pr);
    const prevTerm = this.log.term(prevIndex);
    invariant(prevTerm !== undefined, () => `${to}'s next ${pr.next} is past our log`);
    // A replicating follower with a full window gets an empty append: it still carries the
    // commit index and, if everything in flight was lost, its rejection restarts the flow.
    const windowFull = pr.state === 'replicate' && pr.inflights.full();
    const entries = windowFull ? [] : this.log.entriesFrom(pr.next, this.maxSizePerMsg);
    if (entries.length === 0 && !sendIfEmpty) return false;
    const commit = this.log.committed;
    this.send({ type: 'append', to, prevIndex, prevTerm, entries, commit });
    pr.sentEntries(entries.length);
    pr.sentCommitIndex(commit);
    return true;
  }

  private maybeSendSnapshot(to: NodeId, pr: Progress): boolean {
    // Snapshots are large: don't send them to a node that isn't answering.
    if (!pr.recentActive) return false;
    const snapshot = this.log.snapshot();
    invariant(
      snapshot.metadata.index >= this.log.firstIndex() - 1,
      () =>
        `storage compacted to ${this.log.firstIndex() - 1}, ` +
        `beyond its snapshot ${snapshot.metadata.index}`,
    );
    pr.becomeSnapshot(snapshot.metadata.index);
    this.send({ type: 'snapshot', to, snapshot });
    return true;
  }

  private broadcastHeartbeat(context: string): void {
    for (const id of this.peers()) {
      const pr = this.tracker.get(id)!;
      // Never tell a follower to commit beyond what it is known to hold.
      const commit = Math.min(pr.match, this.log.committed);
      this.send({ type: 'heartbeat', to: id, commit, context });
      pr.sentCommitIndex(commit);
    }
  }

  private handleAppendResponse(m: AppendRespMessage): StepResult {
    const pr = this.tracker.get(m.from);
    if (!pr) return 'unknownPeer';
    if (m.index > this.log.lastIndex()) return 'implausible';
    pr.recentActive = true;

    if (m.reject) {
      // Fast back-off: skip every index where our term exceeds the follower's hint term (the
      // follower cannot match us there), so probing costs one round trip per term, not per entry.
      const probeAfter =
        m.hintTerm > 0 ? this.log.findConflictByTerm(m.hintIndex, m.hintTerm).index : m.hintIndex;
      if (pr.maybeDecrTo(m.index, probeAfter)) {
        if (pr.state === 'replicate') pr.becomeProbe();
        this.sendAppend(m.from);
      }
      return 'accepted';
    }

    // A probe answered at the current match also moves the follower back to replicating.
    const probeConfirmed = pr.match === m.index && pr.state === 'probe';
    if (!pr.maybeUpdate(m.index) && !probeConfirmed) return 'accepted';
    switch (pr.state) {
      case 'probe':
        pr.becomeReplicate();
        break;
      case 'snapshot':
        // Caught up by the snapshot (or otherwise) to where our log can continue.
        if (pr.match + 1 >= this.log.firstIndex()) pr.becomeReplicate();
        break;
      case 'replicate':
        pr.inflights.freeTo(m.index);
        break;
    }
    const isPeer = m.from !== this.id;
    if (!this.commitAndBroadcast() && isPeer && pr.canBumpCommit(this.log.committed)) {
      this.sendAppend(m.from);
    }
    // The window may have opened up: send whatever else fits.
    if (isPeer) while (this.maybeSendAppend(m.from, false));
    if (m.from === this.leadTransferee && pr.match === this.log.lastIndex()) {
      this.sendTimeoutNow(m.from);
    }
    return 'accepted';
  }

  private handleHeartbeatResponse(m: HeartbeatRespMessage): StepResult {
    const pr = this.tracker.get(m.from);
    if (!pr) return 'unknownPeer';
    pr.recentActive = true;
    pr.resume();
    if (pr.match < this.log.lastIndex() || pr.state === 'probe') this.sendAppend(m.from);
    if (m.context === '') return 'accepted';
    const acks = this.readOnly.ack(m.context, m.from);
    if (acks && this.tracker.hasQuorum(acks)) {
      for (const read of this.readOnly.releaseThrough(m.context)) {
        this.answerRead(read.request, read.index);
      }
    }
    return 'accepted';
  }

  /** Advances the commit index if a quorum allows; on change, tells everyone. */
  private commitAndBroadcast(): boolean {
    if (!this.log.maybeCommit(this.tracker.committedIndex(), this.term)) return false;
    this.releaseReadsAwaitingCommit();
    this.broadcastAppend();
    return true;
  }

  private appendEntry(type: EntryType, data: Buffer): Entry | null {
    invariant(this.log.lastTerm() <= this.term, () => `log term ahead of leader term ${this.term}`);
    const entry: Entry = { term: this.term, index: this.log.lastIndex() + 1, type, data };
    const size = data.length;
    // An empty tail admits any proposal (else one large entry could never get in); empty entries
    // (the no-op) are never refused.
    if (
      this.uncommittedSize > 0 &&
      size > 0 &&
      this.uncommittedSize + size > this.maxUncommittedSize
    ) {
      return null;
    }
    this.uncommittedSize += size;
    this.log.append([entry]);
    this.leaderLast = { index: entry.index, term: entry.term };
    // Our own acknowledgement, stepped once the entry is durable (see selfMessages).
    this.sendAppendResponse(this.id, entry.index);
    return entry;
  }

  /** Applied entries leave the uncommitted tail. */
  reduceUncommittedSize(entries: readonly Entry[]): void {
    this.uncommittedSize = Math.max(0, this.uncommittedSize - payloadSize(entries));
  }

  private assertLeaderLogIntact(): void {
    if (this.role !== 'leader') return;
    const { index, term } = this.leaderLast;
    invariant(
      this.log.term(index) === term,
      () => `leader ${this.id} lost its own entry ${index} (term ${term})`,
    );
  }

  private committedEntryInCurrentTerm(): boolean {
    return this.log.term(this.log.committed) === this.term;
  }

  // ---------------------------------------------------------------------------------------------
  // Proposals and membership

  private reject(reason: RejectionReason, detail?: string): RequestRejectedError {
    return new RequestRejectedError(reason, this.lead === this.id ? null : this.lead, detail);
  }

  private assertLeaderAccepting(): void {
    if (this.role !== 'leader') throw this.reject(this.lead === null ? 'noLeader' : 'notLeader');
    if (!this.tracker.isMember(this.id)) throw this.reject('notMember');
    if (this.leadTransferee !== null) throw this.reject('transferInProgress');
  }

  propose(data: Buffer): Entry {
    this.assertLeaderAccepting();
    const entry = this.appendEntry('normal', data);
    if (!entry) throw this.reject('uncommittedSizeLimit');
    this.broadcastAppend();
    return entry;
  }

  proposeConfChange(change: ConfChange): Entry {
    this.assertLeaderAccepting();
    // Ongaro's single-server membership bug (raft-dev, 2015): a leader must commit an entry of
    // its own term before changing membership, or a change from a deposed leader's term could
    // later be overridden. pendingConfIndex starts at this leader's no-op to enforce that too.
    if (!this.committedEntryInCurrentTerm()) throw this.reject('termNotCommitted');
    if (this.pendingConfIndex > this.log.applied) {
      throw this.reject('confChangePending', `change at ${this.pendingConfIndex} not yet applied`);
    }
    // Nothing is pending, so the applied configuration is exactly the one this change follows.
    const problem = confChangeProblem(this.tracker.confState(), change);
    if (problem) throw this.reject('invalidConfChange', problem);
    const entry = this.appendEntry('confChange', encodeConfChange(change));
    if (!entry) throw this.reject('uncommittedSizeLimit');
    this.pendingConfIndex = entry.index;
    this.broadcastAppend();
    return entry;
  }

  applyConfChange(change: ConfChange): ConfState {
    const next = applyConfChangeTo(this.tracker.confState(), change);
    const before = new Set(this.tracker.memberIds());
    this.tracker.setConfiguration(next, this.log.lastIndex() + 1);
    if (this.role === 'leader') this.leaderConfigurationChanged(before);
    return this.tracker.confState();
  }

  private leaderConfigurationChanged(previousMembers: ReadonlySet<NodeId>): void {
    if (!this.tracker.isVoter(this.id)) {
      // Removed: step down now that the change is applied (etcd's StepDownOnRemoval). The others
      // elect a leader after an election timeout; transfer leadership first to avoid the wait.
      this.becomeFollower(this.term, null);
      return;
    }
    if (this.leadTransferee !== null && !this.tracker.isVoter(this.leadTransferee)) {
      this.leadTransferee = null;
    }
    // A smaller quorum may commit more; otherwise start probing new members right away.
    if (!this.commitAndBroadcast()) {
      for (const id of this.peers()) {
        if (!previousMembers.has(id)) this.sendAppend(id);
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Reads

  readIndex(context: string): void {
    if (this.role === 'leader') {
      this.handleReadRequest({ from: this.id, context });
      return;
    }
    if (this.lead === null) throw this.reject('noLeader');
    this.send({ type: 'readIndex', to: this.lead, context });
  }

  private handleReadRequest(request: ReadRequest): void {
    // Until the leader commits an entry of its term it may not know the latest commit index
    // (thesis §6.4 step 1): hold the read until then.
    if (!this.committedEntryInCurrentTerm()) {
      this.readsAwaitingCommit.push(request);
      return;
    }
    const key = this.readOnly.add(this.log.committed, request);
    const acks = this.readOnly.ack(key, this.id)!;
    if (this.tracker.hasQuorum(acks)) {
      // A single voter is its own quorum.
      for (const read of this.readOnly.releaseThrough(key))
        this.answerRead(read.request, read.index);
      return;
    }
    this.broadcastHeartbeat(key);
  }

  private releaseReadsAwaitingCommit(): void {
    if (this.readsAwaitingCommit.length === 0 || !this.committedEntryInCurrentTerm()) return;
    const waiting = this.readsAwaitingCommit;
    this.readsAwaitingCommit = [];
    for (const request of waiting) this.handleReadRequest(request);
  }

  private answerRead(request: ReadRequest, index: number): void {
    if (request.from === this.id) {
      this.readStates.push({ index, context: request.context });
    } else {
      this.send({ type: 'readIndexResp', to: request.from, index, context: request.context });
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Leadership transfer (thesis §3.10)

  transferLeadership(to: NodeId): void {
    if (this.role !== 'leader') throw this.reject(this.lead === null ? 'noLeader' : 'notLeader');
    if (to === this.id) return;
    const pr = this.tracker.get(to);
    if (!pr || pr.isLearner) throw this.reject('invalidTransferTarget', `${to} is not a voter`);
    if (this.leadTransferee === to) return;
    this.leadTransferee = to;
    // The transfer must finish within an election timeout (see leaderIntervalElapsed).
    this.electionElapsed = 0;
    // Proposals are refused meanwhile, so the target can catch up with a log that stands still.
    if (pr.match === this.log.lastIndex()) this.sendTimeoutNow(to);
    else this.sendAppend(to);
  }

  private sendTimeoutNow(to: NodeId): void {
    this.send({ type: 'timeoutNow', to });
  }

  // ---------------------------------------------------------------------------------------------
  // Transport feedback from the driver

  /** The driver learned whether a snapshot reached `to`. */
  reportSnapshot(to: NodeId, delivered: boolean): void {
    const pr = this.tracker.get(to);
    if (this.role !== 'leader' || pr?.state !== 'snapshot') return;
    if (delivered) pr.snapshotDelivered();
    else pr.abandonSnapshot();
  }

  /** The driver could not reach `to`: appends in flight are probably lost. */
  reportUnreachable(to: NodeId): void {
    const pr = this.tracker.get(to);
    if (this.role === 'leader' && pr?.state === 'replicate') pr.becomeProbe();
  }

  // ---------------------------------------------------------------------------------------------

  private send(m: OutgoingMessage): void {
    const message = { ...m, from: this.id, term: m.term ?? this.term } as Message;
    if (message.to === this.id) this.selfMessages.push(message);
    else this.messages.push(message);
  }

  status(): RaftStatus {
    let progress: Record<NodeId, ProgressStatus> | null = null;
    if (this.role === 'leader') {
      progress = {};
      for (const id of this.tracker.memberIds()) {
        const pr = this.tracker.get(id)!;
        progress[id] = {
          match: pr.match,
          next: pr.next,
          state: pr.state,
          recentActive: pr.recentActive,
          isLearner: pr.isLearner,
          pendingSnapshot: pr.pendingSnapshot,
          inflight: pr.inflights.count,
        };
      }
    }
    return {
      id: this.id,
      term: this.term,
      vote: this.vote,
      leader: this.lead,
      role: this.role,
      commit: this.log.committed,
      applied: this.log.applied,
      firstIndex: this.log.firstIndex(),
      lastIndex: this.log.lastIndex(),
      confState: this.tracker.confState(),
      leadTransferee: this.leadTransferee,
      progress,
    };
  }
}

type ResolvedConfig = typeof DEFAULTS & RaftConfig;

function validateConfig(c: ResolvedConfig): void {
  const positiveInt = (v: number) => Number.isSafeInteger(v) && v > 0;
  const sizeLimit = (v: number) => v === Infinity || (Number.isSafeInteger(v) && v >= 0);
  const problems = [
    typeof c.id !== 'string' || c.id.length === 0 ? 'id must be a non-empty string' : '',
    !positiveInt(c.heartbeatTick) ? 'heartbeatTick must be a positive integer' : '',
    !positiveInt(c.electionTick) || c.electionTick <= c.heartbeatTick
      ? 'electionTick must be an integer greater than heartbeatTick'
      : '',
    !positiveInt(c.maxInflightMsgs) ? 'maxInflightMsgs must be a positive integer' : '',
    !sizeLimit(c.maxSizePerMsg) ? 'maxSizePerMsg must be a non-negative integer' : '',
    !sizeLimit(c.maxUncommittedEntriesSize) ? 'maxUncommittedEntriesSize must be ≥ 0' : '',
    !sizeLimit(c.maxCommittedSizePerReady) ? 'maxCommittedSizePerReady must be ≥ 0' : '',
    typeof c.random !== 'function' ? 'random must be a function' : '',
  ].filter(Boolean);
  if (problems.length > 0) throw new TypeError(`invalid Raft config: ${problems.join('; ')}`);
}

/** Drop keys explicitly set to undefined so they don't override defaults when spread. */
function stripUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
