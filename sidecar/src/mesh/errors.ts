/**
 * Why a peer call failed. Each class maps to one `outcome` label of
 * `quorumstore_peer_rpc_total`, so dashboards separate slow peers from refused work.
 */
export type RpcOutcome = 'ok' | 'error' | 'timeout' | 'cancelled' | 'rejected' | 'unavailable';

export abstract class PeerCallError extends Error {
  abstract readonly outcome: RpcOutcome;
}

/** No authenticated connection to the peer right now, or it was lost while the call waited. */
export class PeerUnavailableError extends PeerCallError {
  override readonly name = 'PeerUnavailableError';
  readonly outcome = 'unavailable';
  constructor(
    message: string,
    /** The request had already been sent, so the peer may have acted on it. */
    readonly requestSent = false,
  ) {
    super(message);
  }
}

/** Refused locally without sending: in-flight or send-queue limit reached, or message too large. */
export class PeerBackpressureError extends PeerCallError {
  override readonly name = 'PeerBackpressureError';
  readonly outcome = 'rejected';
}

export class PeerTimeoutError extends PeerCallError {
  override readonly name = 'PeerTimeoutError';
  readonly outcome = 'timeout';
}

export class PeerCancelledError extends PeerCallError {
  override readonly name = 'PeerCancelledError';
  readonly outcome = 'cancelled';
}

/** The peer ran the call and answered with an error. `code` is machine-readable. */
export class PeerRemoteError extends PeerCallError {
  override readonly name = 'PeerRemoteError';
  readonly outcome = 'error';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Thrown by a handler to answer with a specific error code (anything else answers `internal`). */
export class RpcHandlerError extends Error {
  override readonly name = 'RpcHandlerError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
