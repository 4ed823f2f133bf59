/** Prometheus metrics of this node's Raft: where it stands, how fast it commits and applies. */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { RaftNodeStatus } from '../core/index.js';

const ROLES = ['follower', 'preCandidate', 'candidate', 'leader'] as const;

export class RaftMetrics {
  readonly leaderChanges: Counter;
  readonly elections: Counter;
  readonly proposalDuration: Histogram<'outcome'>;
  readonly applyDuration: Histogram;
  readonly persistDuration: Histogram;
  readonly snapshotBytes: Gauge;
  readonly snapshotDuration: Histogram;
  readonly droppedMessages: Counter<'reason'>;

  constructor(registry: Registry, status: () => RaftNodeStatus | null) {
    const registers = [registry];
    const gauge = (name: string, help: string, read: (s: RaftNodeStatus) => number) => {
      const g: Gauge = new Gauge({
        name,
        help,
        registers,
        collect() {
          const s = status();
          if (s) g.set(read(s));
        },
      });
    };
    gauge('quorumstore_raft_term', 'Current Raft term.', (s) => s.term);
    gauge('quorumstore_raft_commit_index', 'Highest log index known committed.', (s) => s.commit);
    gauge(
      'quorumstore_raft_applied_index',
      'Highest log index applied to the metadata state machine.',
      (s) => s.applied,
    );
    gauge(
      'quorumstore_raft_last_log_index',
      'Index of the last entry in the local log.',
      (s) => s.lastIndex,
    );
    gauge(
      'quorumstore_schema_version',
      'Schema version this node has applied (its applied Raft index).',
      (s) => s.applied,
    );
    gauge(
      'quorumstore_raft_voters',
      'Voters in the current configuration.',
      (s) => s.confState.voters.length,
    );
    gauge(
      'quorumstore_raft_learners',
      'Non-voting members in the current configuration.',
      (s) => s.confState.learners.length,
    );
    const role: Gauge<'role'> = new Gauge({
      name: 'quorumstore_raft_role',
      help: '1 for the role this node has now (follower, preCandidate, candidate, leader).',
      labelNames: ['role'],
      registers,
      collect() {
        const s = status();
        for (const r of ROLES) role.set({ role: r }, s?.role === r ? 1 : 0);
      },
    });
    this.leaderChanges = new Counter({
      name: 'quorumstore_raft_leader_changes_total',
      help: 'Times this node saw the leader change (including to none).',
      registers,
    });
    this.elections = new Counter({
      name: 'quorumstore_raft_elections_total',
      help: 'Elections this node started (as candidate, after a successful pre-vote).',
      registers,
    });
    this.proposalDuration = new Histogram({
      name: 'quorumstore_raft_proposal_duration_seconds',
      help: 'From proposal to applied on this node, by outcome (ok, rejected, failed, timeout).',
      labelNames: ['outcome'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.applyDuration = new Histogram({
      name: 'quorumstore_raft_apply_duration_seconds',
      help: 'Time to apply one committed entry to the metadata state machine.',
      buckets: [0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1],
      registers,
    });
    this.persistDuration = new Histogram({
      name: 'quorumstore_raft_persist_duration_seconds',
      help: 'Time to make one Ready durable (log append, hard state, snapshot; fsync included).',
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    });
    this.snapshotBytes = new Gauge({
      name: 'quorumstore_raft_snapshot_bytes',
      help: 'Size of the newest metadata snapshot.',
      registers,
    });
    this.snapshotDuration = new Histogram({
      name: 'quorumstore_raft_snapshot_duration_seconds',
      help: 'Time to take a snapshot of the metadata and compact the log.',
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers,
    });
    this.droppedMessages = new Counter({
      name: 'quorumstore_raft_dropped_messages_total',
      help: 'Raft messages from peers that were not acted on, by reason.',
      labelNames: ['reason'],
      registers,
    });
  }
}
