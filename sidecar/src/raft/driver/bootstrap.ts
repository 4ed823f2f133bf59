/**
 * When a node without Raft state may create the cluster, as a pure decision so every rule is
 * testable (architecture.md, "Metadata: Raft"):
 *
 * - Initial voters are the first RAFT_BOOTSTRAP_EXPECT names of RAFT_JOIN.
 * - Bootstrap happens once, and only when EVERY expected voter is reachable and NONE has state.
 *   Every expected voter then writes the same initial membership independently (like etcd's
 *   --initial-cluster), so they agree without talking. If any node already has state, the
 *   cluster exists: never bootstrap again (that would fork it).
 * - A node with state restarts from it, never re-bootstraps.
 * - Any other node asks to be added as a learner once it can see a node with state.
 */
export interface PeerBootstrapInfo {
  readonly reachable: boolean;
  /** Known only when reachable. */
  readonly hasState: boolean;
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
  /** The cluster exists and this node is one of its initial voters (it lost its state, or lost the race). */
  | { readonly action: 'awaitLeader' }
  | { readonly action: 'requestJoin' }
  | { readonly action: 'wait'; readonly reason: string };

export function initialVoters(join: readonly string[], bootstrapExpect: number): string[] {
  return join.slice(0, bootstrapExpect);
}

export function decideBootstrap(input: BootstrapInput): BootstrapDecision {
  if (input.selfHasState) return { action: 'restart' };
  const voters = initialVoters(input.join, input.bootstrapExpect);
  const others = [...input.peers.entries()];
  const clusterExists = others.some(([, peer]) => peer.reachable && peer.hasState);
  if (!voters.includes(input.self)) {
    return clusterExists
      ? { action: 'requestJoin' }
      : { action: 'wait', reason: 'no reachable node has Raft state yet' };
  }
  if (clusterExists) return { action: 'awaitLeader' };
  const missing = voters.filter((name) => name !== input.self && !input.peers.get(name)?.reachable);
  if (missing.length > 0) {
    return {
      action: 'wait',
      reason: `waiting for expected voters to be reachable: ${missing.join(', ')}`,
    };
  }
  return { action: 'bootstrap', voters };
}
