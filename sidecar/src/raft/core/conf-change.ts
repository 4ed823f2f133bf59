/**
 * Single-server membership changes as pure functions over ConfState (thesis §4.1).
 *
 * The leader validates a change against its applied configuration before appending it, and it
 * appends a change only when no other one is pending — so the configuration it validated against
 * is exactly the one every node will hold when applying it. Application is then total: a change
 * that fails validation at apply time means the log holds something no leader could have
 * proposed, which is a bug (RaftInvariantError), not a condition to tolerate.
 */
import type { ConfChange, ConfState, NodeId } from '../types.js';
import { RaftInvariantError } from './errors.js';

/** Why `change` cannot apply to `conf`, or null if it can. */
export function confChangeProblem(conf: ConfState, change: ConfChange): string | null {
  const { node } = change;
  if (typeof node !== 'string' || node.length === 0) return 'node id must be a non-empty string';
  const isVoter = conf.voters.includes(node);
  const isLearner = conf.learners.includes(node);
  switch (change.type) {
    case 'addVoter':
      // A learner becoming a voter is a promotion.
      return isVoter ? `${node} is already a voter` : null;
    case 'addLearner':
      if (isLearner) return `${node} is already a learner`;
      return isVoter ? `${node} is a voter; demotion is not supported (remove it first)` : null;
    case 'removeNode':
      if (!isVoter && !isLearner) return `${node} is not a member`;
      return isVoter && conf.voters.length === 1 ? `removing ${node} would leave no voters` : null;
  }
}

export function applyConfChangeTo(conf: ConfState, change: ConfChange): ConfState {
  const problem = confChangeProblem(conf, change);
  if (problem) throw new RaftInvariantError(`cannot apply conf change: ${problem}`);
  const without = (ids: readonly NodeId[]) => ids.filter((id) => id !== change.node);
  switch (change.type) {
    case 'addVoter':
      return confState([...conf.voters, change.node], without(conf.learners));
    case 'addLearner':
      return confState(conf.voters, [...conf.learners, change.node]);
    case 'removeNode':
      return confState(without(conf.voters), without(conf.learners));
  }
}

/** A ConfState in canonical form: sorted, so equal memberships compare equal. */
export function confState(voters: readonly NodeId[], learners: readonly NodeId[]): ConfState {
  return { voters: [...voters].sort(), learners: [...learners].sort() };
}
