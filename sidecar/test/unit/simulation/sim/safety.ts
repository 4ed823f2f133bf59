/**
 * Safety properties, checked while the simulation runs (not just at the end):
 *
 * - Election safety: at most one leader per term, ever (across crashes and restarts).
 * - Committed prefix: whatever any node ever held as committed at index i (its commit index
 *   covered i) has the same term everywhere, forever — checked incrementally as commit indices
 *   move, so a committed entry that is lost or overwritten is caught when it happens.
 * - Leader completeness: a node that becomes leader of term T holds every entry known committed
 *   in an earlier term (committed in term < T: the first observer's term bounds the commit term
 *   from above, so this never asks for more than Raft promises). Its compacted prefix is covered
 *   by its snapshot.
 * - Durability: every write acknowledged to a client is in every later leader's log, and applied
 *   everywhere at the end.
 * - State-machine safety: all nodes that apply index i apply the same entry (term and bytes), and
 *   the metadata state machines of nodes at the same applied index serialize to identical bytes
 *   (compared on sampled indices, every snapshot taken, and every snapshot installed).
 * - Log matching (periodically, cheap enough every few hundred events): two logs that hold the
 *   same (index, term) agree on every earlier entry.
 * - No node ever sees two leaders in one term (the core counts 'conflictingLeader' drops).
 */
import { createHash } from 'node:crypto';
import type { RaftNodeStatus } from '../../../../src/raft/core/index.js';
import type { Entry, Snapshot } from '../../../../src/raft/types.js';
import type { SafetyHooks, Server } from './server.js';

export class SafetyViolation extends Error {
  override readonly name = 'SafetyViolation';
}

interface Acknowledged {
  readonly index: number;
  readonly term: number;
  /** Term of the acknowledging leader: leaders of later terms must hold the entry. */
  readonly ackTerm: number;
}

export class SafetyChecker implements SafetyHooks {
  private readonly leaderOfTerm = new Map<number, string>();
  /** Term of the committed entry at each index. */
  private readonly committedTerm: number[] = [];
  /** The observing node's term when the index was first seen committed (≥ its commit term). */
  private readonly committedSeenInTerm: number[] = [];
  private maxCommitted = 0;
  /** The first applied entry at each index. */
  private readonly appliedEntries: (Entry | undefined)[] = [];
  /** Digest of the state machine's snapshot bytes at an applied index. */
  private readonly machineAt = new Map<number, string>();
  private readonly acknowledged: Acknowledged[] = [];
  /** Per process incarnation: the commit index already checked. */
  private readonly commitChecked = new WeakMap<Server, number>();
  leadersElected = 0;
  machineComparisons = 0;

  constructor(
    /** Compare state machines on applied indices divisible by this. */
    private readonly machineSampleEvery: number,
  ) {}

  get highestCommitted(): number {
    return this.maxCommitted;
  }

  get acknowledgedWrites(): number {
    return this.acknowledged.length;
  }

  observe(server: Server): void {
    const raft = server.raft;
    const st = raft.status();
    if (st.dropped.conflictingLeader) {
      fail(`${server.id} saw two leaders in term ${st.term} (dropped as conflictingLeader)`);
    }
    if (st.role === 'leader') {
      const known = this.leaderOfTerm.get(st.term);
      if (known === undefined) {
        this.leaderOfTerm.set(st.term, server.id);
        this.leadersElected++;
        this.checkNewLeader(server, st);
      } else if (known !== server.id) {
        fail(`election safety: ${known} and ${server.id} both lead term ${st.term}`);
      }
    }
    let checked = this.commitChecked.get(server) ?? st.firstIndex - 1;
    if (st.commit > checked) {
      for (let index = Math.max(checked + 1, st.firstIndex); index <= st.commit; index++) {
        const term = raft.termAt(index);
        if (term === undefined) continue;
        const known = this.committedTerm[index];
        if (known === undefined) {
          this.committedTerm[index] = term;
          this.committedSeenInTerm[index] = st.term;
          if (index > this.maxCommitted) this.maxCommitted = index;
        } else if (known !== term) {
          fail(
            `committed entry changed: ${server.id} holds ${index}@${term} as committed, ` +
              `but ${index}@${known} was committed before`,
          );
        }
      }
      checked = st.commit;
    }
    this.commitChecked.set(server, checked);
  }

  private checkNewLeader(server: Server, st: RaftNodeStatus): void {
    const raft = server.raft;
    for (let index = st.firstIndex; index <= this.maxCommitted; index++) {
      const seenIn = this.committedSeenInTerm[index];
      if (seenIn === undefined || seenIn >= st.term) continue;
      const term = raft.termAt(index);
      if (term !== this.committedTerm[index]) {
        fail(
          `leader completeness: ${server.id}, new leader of term ${st.term}, holds ` +
            `${index}@${term ?? 'nothing'} but ${index}@${this.committedTerm[index]} was ` +
            `committed in term ≤ ${seenIn}`,
        );
      }
    }
    for (const ack of this.acknowledged) {
      if (ack.ackTerm >= st.term || ack.index < st.firstIndex) continue;
      if (raft.termAt(ack.index) !== ack.term) {
        fail(
          `durability: ${server.id}, new leader of term ${st.term}, lacks the acknowledged ` +
            `write ${ack.index}@${ack.term}`,
        );
      }
    }
  }

  onApply(server: Server, entry: Entry): void {
    const first = this.appliedEntries[entry.index];
    if (first === undefined) {
      this.appliedEntries[entry.index] = entry;
    } else if (first.term !== entry.term || !first.data.equals(entry.data)) {
      fail(
        `state-machine safety: ${server.id} applied ${entry.index}@${entry.term}, ` +
          `another node applied ${first.index}@${first.term}` +
          (first.term === entry.term ? ' with different bytes' : ''),
      );
    }
    const committed = this.committedTerm[entry.index];
    if (committed !== undefined && committed !== entry.term) {
      fail(
        `${server.id} applied ${entry.index}@${entry.term}; ${entry.index}@${committed} is committed`,
      );
    }
    if (entry.type === 'normal' && server.sm.version !== entry.index) {
      fail(
        `${server.id}: state machine at version ${server.sm.version} after applying ${entry.index}`,
      );
    }
    if (entry.index % this.machineSampleEvery === 0) {
      this.compareMachine(server, entry.index, server.sm.snapshot(), 'applying');
    }
  }

  onSnapshotTaken(server: Server, index: number, data: Buffer): void {
    this.compareMachine(server, index, data, 'taking a snapshot');
  }

  onSnapshotRestored(server: Server, snapshot: Snapshot): void {
    // The bootstrap snapshot (index 1) carries the empty schema of version 0.
    if (snapshot.metadata.index > 1) {
      this.compareMachine(server, snapshot.metadata.index, snapshot.data, 'restoring a snapshot');
    }
    server.sm.checkInvariants();
  }

  onAcknowledged(server: Server, index: number): void {
    const term = server.raft.termAt(index);
    if (term === undefined) fail(`${server.id} acknowledged ${index}, which it does not hold`);
    this.acknowledged.push({ index, term, ackTerm: server.raft.status().term });
  }

  private compareMachine(server: Server, index: number, bytes: Buffer, when: string): void {
    this.machineComparisons++;
    const digest = createHash('sha1').update(bytes).digest('hex');
    const known = this.machineAt.get(index);
    if (known === undefined) this.machineAt.set(index, digest);
    else if (known !== digest) {
      fail(
        `state machines diverge at applied index ${index}: ${server.id} (${when}) has ` +
          `snapshot ${digest.slice(0, 12)}, another node had ${known.slice(0, 12)}`,
      );
    }
  }

  /** Log Matching over every pair of running nodes. */
  checkLogMatching(servers: readonly Server[]): void {
    for (const [i, a] of servers.entries()) {
      const sa = a.raft.status();
      for (const b of servers.slice(i + 1)) {
        const sb = b.raft.status();
        const lo = Math.max(sa.firstIndex, sb.firstIndex);
        const hi = Math.min(sa.lastIndex, sb.lastIndex);
        let agreeing = false;
        for (let index = hi; index >= lo; index--) {
          const same = a.raft.termAt(index) === b.raft.termAt(index);
          if (same) agreeing = true;
          else if (agreeing) {
            fail(
              `log matching: ${a.id} and ${b.id} hold a common entry above ${index} but differ at ${index}`,
            );
          }
        }
      }
    }
  }

  /** At the end, with every node up and caught up. */
  checkConverged(servers: readonly Server[]): void {
    const first = servers[0];
    if (!first) return;
    const digest = (s: Server) => createHash('sha1').update(s.sm.snapshot()).digest('hex');
    const expected = digest(first);
    for (const server of servers) {
      if (server.applied !== first.applied) {
        fail(`not converged: ${server.id} applied ${server.applied}, ${first.id} ${first.applied}`);
      }
      if (digest(server) !== expected) {
        fail(`state machines differ at ${server.applied}: ${server.id} vs ${first.id}`);
      }
      for (const ack of this.acknowledged) {
        const applied = this.appliedEntries[ack.index];
        if (server.applied < ack.index || (applied && applied.term !== ack.term)) {
          fail(
            `durability: acknowledged write ${ack.index}@${ack.term} is not applied on ${server.id}`,
          );
        }
      }
    }
    this.compareMachine(first, first.applied, first.sm.snapshot(), 'converging');
  }
}

function fail(message: string): never {
  throw new SafetyViolation(message);
}
