/**
 * What a client is told when a schema request does not simply succeed. Three different truths,
 * never mixed up, because a client decides from them whether it may safely retry:
 *
 * - not applied: the change was never appended to the log (no leader, no quorum known, refused,
 *   or its log slot was taken over) → 503 with Retry-After: retrying is safe.
 * - outcome unknown: the change may have been appended and may still commit (timeout, the
 *   connection to the leader lost after sending) → 503 without Retry-After: read before retrying.
 * - applied, not visible here: committed, but this node has not applied it within the deadline
 *   → 504: do not repeat it.
 */
import { HttpError } from '../http/errors.js';
import { PeerBackpressureError, PeerRemoteError, PeerUnavailableError } from '../mesh/errors.js';
import { RequestRejectedError } from '../raft/core/index.js';
import { ProposalDroppedError, RaftTimeoutError } from '../raft/driver/raft-driver.js';

const RETRY = { 'Retry-After': '1' };

export function notApplied(reason: string): HttpError {
  return new HttpError(503, `${reason}; nothing was applied`, RETRY);
}

export function outcomeUnknown(reason: string): HttpError {
  return new HttpError(
    503,
    `${reason}; the outcome is unknown (the change may still apply): read before retrying`,
  );
}

export function appliedNotVisible(version: number): HttpError {
  return new HttpError(
    504,
    `the change was applied at schema version ${version}, but this node has not caught up with it yet; do not repeat it`,
  );
}

/** A read could not be served: nothing changed, so retrying is always safe. */
export function readUnavailable(reason: string): HttpError {
  return new HttpError(503, `cannot serve a consistent read: ${reason}`, RETRY);
}

/** Raft outcomes of a write on this node (the leader). */
export function fromRaftWrite(error: unknown): Error {
  if (error instanceof HttpError) return error;
  if (error instanceof RequestRejectedError)
    return notApplied(`not accepted by raft (${error.message})`);
  if (error instanceof ProposalDroppedError) return notApplied(error.message);
  if (error instanceof RaftTimeoutError) return outcomeUnknown(`${error.message} (no quorum?)`);
  return error as Error;
}

/** Failures of a read barrier or of catching up for a read. */
export function fromRaftRead(error: unknown): Error {
  if (error instanceof HttpError) return error;
  return readUnavailable((error as Error).message);
}

/** Errors from forwarding a change to the leader, re-rendered for our client. */
export function fromForwarded(error: unknown, leader: string): Error {
  if (error instanceof PeerRemoteError) {
    const message = error.message.replace(new RegExp(`^${leader}: `), '');
    if (error.code.startsWith('http_')) {
      const status = Number(error.code.slice(5));
      // The leader's own wording already says whether anything was applied.
      return new HttpError(status, message, /nothing was applied/.test(message) ? RETRY : {});
    }
    if (error.code === 'not_leader') return notApplied(`leadership moved away from ${leader}`);
    return outcomeUnknown(`the leader ${leader} failed: ${message}`);
  }
  const neverSent =
    error instanceof PeerBackpressureError ||
    (error instanceof PeerUnavailableError && !error.requestSent);
  if (neverSent)
    return notApplied(`cannot reach the leader ${leader}: ${(error as Error).message}`);
  return outcomeUnknown(`forwarding to the leader ${leader} failed: ${(error as Error).message}`);
}
