/**
 * The decision at the heart of Lease-based leader election, as in client-go's tryAcquireOrRenew,
 * kept pure so every case is a unit test. Expiry is judged on OUR clock: a lease is live until
 * `leaseDurationSeconds` after we first saw its current version, never by the holder's `renewTime`
 * (clocks of different machines disagree; the time we observed a change does not).
 */

/** The fields of `coordination.k8s.io/v1` Lease `spec` the election uses; times in epoch ms. */
export interface LeaseRecord {
  /** Empty when nobody holds the lease (released). */
  holderIdentity: string;
  leaseDurationSeconds: number;
  acquireTimeMs: number | undefined;
  renewTimeMs: number | undefined;
  leaseTransitions: number;
}

export type LeaseDecision =
  /** No Lease object exists: create it, held by us. */
  | { action: 'create'; record: LeaseRecord }
  /** Free or expired: take it over (a leader transition). */
  | { action: 'acquire'; record: LeaseRecord }
  /** Ours: extend it. */
  | { action: 'renew'; record: LeaseRecord }
  /** Someone else holds a live lease until `expiresAtMs` (our clock). */
  | { action: 'wait'; holder: string; expiresAtMs: number };

export interface LeaseObservation {
  /** The record as last read; undefined when the Lease does not exist. */
  record: LeaseRecord | undefined;
  /** When (our clock) the record was first seen in this version. */
  observedAtMs: number;
}

export function decideLease(
  observed: LeaseObservation,
  nowMs: number,
  identity: string,
  leaseDurationSeconds: number,
): LeaseDecision {
  const current = observed.record;
  if (current === undefined) {
    return {
      action: 'create',
      record: {
        holderIdentity: identity,
        leaseDurationSeconds,
        acquireTimeMs: nowMs,
        renewTimeMs: nowMs,
        leaseTransitions: 0,
      },
    };
  }
  if (current.holderIdentity === identity) {
    return { action: 'renew', record: { ...current, leaseDurationSeconds, renewTimeMs: nowMs } };
  }
  const expiresAtMs = observed.observedAtMs + current.leaseDurationSeconds * 1000;
  if (current.holderIdentity !== '' && nowMs < expiresAtMs) {
    return { action: 'wait', holder: current.holderIdentity, expiresAtMs };
  }
  return {
    action: 'acquire',
    record: {
      holderIdentity: identity,
      leaseDurationSeconds,
      acquireTimeMs: nowMs,
      renewTimeMs: nowMs,
      leaseTransitions: current.leaseTransitions + 1,
    },
  };
}

/**
 * The record a leader writes when it steps down gracefully: nobody holds it and it lasts 1 s, so a
 * standby takes over at once instead of waiting out the full lease (client-go's ReleaseOnCancel).
 */
export function releasedRecord(current: LeaseRecord, nowMs: number): LeaseRecord {
  return {
    holderIdentity: '',
    leaseDurationSeconds: 1,
    acquireTimeMs: nowMs,
    renewTimeMs: nowMs,
    leaseTransitions: current.leaseTransitions,
  };
}
