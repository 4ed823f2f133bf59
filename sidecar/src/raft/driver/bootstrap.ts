/**
 * When a node without Raft state may create the cluster, as a pure decision so every rule is
 * testable (architecture.md, "Metadata: Raft"; docs/raft.md, "Bootstrap and membership"):
 *
 * - Initial voters are the first RAFT_BOOTSTRAP_EXPECT names of RAFT_JOIN.
 * - A node with state restarts from it, never re-bootstraps.
 * - Bootstrapping writes a deterministic state (the same membership snapshot on every founder),
 *   so founders agree without talking. It happens only when EVERY node named in RAFT_JOIN has
 *   answered and none has gone past that bootstrap state. Requiring all of RAFT_JOIN, not just
 *   the expected voters, is deliberate: a node that has not answered yet may hold the real
 *   cluster's state (a wiped first node must never found a second cluster beside it).
 * - A founder that finds a peer already past the bootstrap state has lost its disk (or lost the
 *   start-up race). It may have voted or acknowledged entries before, so it must not take part
 *   again under its old membership: it asks to be removed and re-added as a learner first.
 * - Any other node asks to be added as a learner once it sees a node past the bootstrap state.
 */

/** What a peer's Raft storage holds. */
export type PeerRaftState =
  /** Nothing: never bootstrapped or joined. */
  | 'none'
  /** Exactly the deterministic bootstrap state (nothing appended after it). */
  | 'bootstrapOnly'
  /** A cluster that has moved on: entries appended after the bootstrap state. */
  | 'active';

export interface PeerBootstrapInfo {
  readonly reachable: boolean;
  /** Known only when reachable. */
  readonly state: PeerRaftState;
}

export interface BootstrapInput {
  readonly self: string;
  readonly join: readonly string[];
  readonly bootstrapExpect: number;
  readonly selfHasState: boolean;
  readonly peers: ReadonlyMap<string, PeerBootstrapInfo>;
}

export type BootstrapDecision =
  | { readonly action: 'restart' }
  | { readonly action: 'bootstrap'; readonly voters: readonly string[] }
  /** The cluster exists and may list this node as a member, but this node has no state. */
  | { readonly action: 'rejoinAsAmnesiac' }
  | { readonly action: 'requestJoin' }
  | { readonly action: 'wait'; readonly reason: string };

export function initialVoters(join: readonly string[], bootstrapExpect: number): string[] {
  return join.slice(0, bootstrapExpect);
}

export function decideBootstrap(input: BootstrapInput): BootstrapDecision {
  if (input.selfHasState) return { action: 'restart' };
  const voters = initialVoters(input.join, input.bootstrapExpect);
  const isFounder = voters.includes(input.self);
  const clusterActive = [...input.peers.values()].some((p) => p.reachable && p.state === 'active');
  if (clusterActive) return isFounder ? { action: 'rejoinAsAmnesiac' } : { action: 'requestJoin' };
  if (!isFounder)
    return { action: 'wait', reason: 'no reachable node has an active Raft cluster yet' };
  const silent = input.join.filter(
    (name) => name !== input.self && !input.peers.get(name)?.reachable,
  );
  if (silent.length > 0) {
    return {
      action: 'wait',
      reason: `waiting for every RAFT_JOIN node to answer before bootstrapping: ${silent.join(', ')}`,
    };
  }
  return { action: 'bootstrap', voters };
}
