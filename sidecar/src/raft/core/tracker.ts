/**
 * The membership a node currently acts on (voters and learners) and, on a leader or candidate,
 * what it tracks per member: replication progress and election votes (etcd's ProgressTracker).
 * Iteration is always in sorted id order so that runs are reproducible.
 */
import type { ConfState, NodeId } from '../types.js';
import { confState } from './conf-change.js';
import { invariant } from './errors.js';
import { Progress } from './progress.js';
import { committedIndex, voteResult, type VoteResult } from './quorum.js';

export class ProgressTracker {
  private voters: readonly NodeId[] = [];
  private learners: readonly NodeId[] = [];
  private readonly progress = new Map<NodeId, Progress>();
  private readonly votes = new Map<NodeId, boolean>();

  constructor(private readonly maxInflight: number) {}

  confState(): ConfState {
    return confState(this.voters, this.learners);
  }

  /**
   * Act on configuration `conf` from now on. Members that stay keep their progress; new members
   * start probing at `nextIndex`, counted as recently active so that a check-quorum round right
   * after the change does not depose the leader before they had a chance to answer.
   */
  setConfiguration(conf: ConfState, nextIndex: number): void {
    const canonical = confState(conf.voters, conf.learners);
    invariant(
      canonical.voters.every((id) => !canonical.learners.includes(id)),
      () => `a node is both voter and learner in ${JSON.stringify(conf)}`,
    );
    this.voters = canonical.voters;
    this.learners = canonical.learners;
    const members = new Set([...this.voters, ...this.learners]);
    for (const id of [...this.progress.keys()]) {
      if (!members.has(id)) this.progress.delete(id);
    }
    for (const id of this.memberIds()) {
      const isLearner = this.learners.includes(id);
      const existing = this.progress.get(id);
      if (existing) {
        existing.isLearner = isLearner;
      } else {
        const pr = new Progress(nextIndex, this.maxInflight, isLearner);
        pr.recentActive = true;
        this.progress.set(id, pr);
      }
    }
  }

  /** Forget all replication state (new term): everyone probes from `nextIndex`. */
  resetProgress(nextIndex: number): void {
    for (const [id, pr] of this.progress) {
      this.progress.set(id, new Progress(nextIndex, this.maxInflight, pr.isLearner));
    }
  }

  get(id: NodeId): Progress | undefined {
    return this.progress.get(id);
  }

  isVoter(id: NodeId): boolean {
    return this.voters.includes(id);
  }

  isMember(id: NodeId): boolean {
    return this.progress.has(id);
  }

  voterIds(): readonly NodeId[] {
    return this.voters;
  }

  /** Voters and learners, sorted. */
  memberIds(): NodeId[] {
    return [...this.voters, ...this.learners].sort();
  }

  /** The highest index a majority of voters have durably acknowledged. */
  committedIndex(): number {
    return committedIndex(this.voters, (id) => this.progress.get(id)?.match ?? 0);
  }

  /** Check-quorum: has a majority of voters been heard from in the last interval? */
  quorumActive(): boolean {
    const result = voteResult(this.voters, (id) => this.progress.get(id)?.recentActive ?? false);
    return result === 'won';
  }

  /** Records `id`'s answer; only the first answer of each node counts. */
  recordVote(id: NodeId, granted: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, granted);
  }

  resetVotes(): void {
    this.votes.clear();
  }

  voteResult(): VoteResult {
    return voteResult(this.voters, (id) => this.votes.get(id));
  }

  /** Whether the nodes in `acks` form a majority of the voters. */
  hasQuorum(acks: ReadonlySet<NodeId>): boolean {
    return voteResult(this.voters, (id) => (acks.has(id) ? true : undefined)) === 'won';
  }
}
