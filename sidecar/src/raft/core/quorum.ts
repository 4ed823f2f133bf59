/**
 * Majority arithmetic over a set of voters. There is a single configuration at a time: changes
 * add or remove one server, so majorities of consecutive configurations intersect (thesis §4.1).
 */
import type { NodeId } from '../types.js';

export type VoteResult = 'won' | 'lost' | 'pending';

export function majority(voters: number): number {
  return Math.floor(voters / 2) + 1;
}

/** The largest index acknowledged by a majority of `voters` (0 with no voters). */
export function committedIndex(voters: readonly NodeId[], acked: (id: NodeId) => number): number {
  if (voters.length === 0) return 0;
  const descending = voters.map(acked).sort((a, b) => b - a);
  return descending[majority(voters.length) - 1]!;
}

/**
 * Outcome of a vote (or of any yes/no poll, e.g. read-index acknowledgements): won once a
 * majority said yes, lost once a majority can no longer say yes. Non-voters' answers don't count.
 */
export function voteResult(
  voters: readonly NodeId[],
  answer: (id: NodeId) => boolean | undefined,
): VoteResult {
  // No voters: nobody campaigns or serves reads then; 'won' is etcd's convention.
  if (voters.length === 0) return 'won';
  let granted = 0;
  let missing = 0;
  for (const id of voters) {
    const vote = answer(id);
    if (vote === true) granted++;
    else if (vote === undefined) missing++;
  }
  const needed = majority(voters.length);
  if (granted >= needed) return 'won';
  return granted + missing >= needed ? 'pending' : 'lost';
}
