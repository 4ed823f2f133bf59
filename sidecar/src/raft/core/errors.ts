/**
 * The two kinds of failure the core reports. They are deliberately different types:
 *
 * - `RequestRejectedError`: an expected, typed refusal of a local request (propose, read,
 *   transfer, membership change). The caller reacts — forwards to `leader`, retries, or reports.
 * - `RaftInvariantError`: an internal invariant broke. That is a bug in the core, its storage or
 *   the driver (a broken Ready/advance contract), never bad network input — malformed or foreign
 *   messages are dropped and counted instead (see `StepResult`). Do not catch and continue:
 *   the node's state can no longer be trusted (TigerBeetle-style "assert and crash").
 */
import type { NodeId } from '../types.js';

export class RaftInvariantError extends Error {
  override readonly name = 'RaftInvariantError';
}

/** Throws a RaftInvariantError unless `condition` holds. The message is built only on failure. */
export function invariant(condition: unknown, message: () => string): asserts condition {
  if (!condition) throw new RaftInvariantError(message());
}

export type RejectionReason =
  /** This node is not the leader; `leader` names the one it knows of. Forward the request. */
  | 'notLeader'
  /** No leader is known right now (election in progress). Retry later. */
  | 'noLeader'
  /** The leader is handing leadership over; proposals wait for the new leader. */
  | 'transferInProgress'
  /** The leader's uncommitted tail is over `maxUncommittedEntriesSize`. Back off. */
  | 'uncommittedSizeLimit'
  /** The leader was removed from the configuration and is about to step down. */
  | 'notMember'
  /** A membership change is still uncommitted or unapplied: one at a time. */
  | 'confChangePending'
  /** A new leader has not committed an entry of its own term yet (Ongaro's membership fix). */
  | 'termNotCommitted'
  /** The change does not apply to the current configuration (e.g. adding an existing voter). */
  | 'invalidConfChange'
  /** Leadership can only move to a voter other than the leader. */
  | 'invalidTransferTarget';

export class RequestRejectedError extends Error {
  override readonly name = 'RequestRejectedError';
  constructor(
    readonly reason: RejectionReason,
    /** The leader this node knows of, if any: where a driver forwards the request. */
    readonly leader: NodeId | null,
    detail?: string,
  ) {
    super(detail ? `${reason}: ${detail}` : reason);
  }
}
