/**
 * The Lease I/O of leader election: read, create, and replace conditionally on resourceVersion (the
 * API server answers 409 if someone wrote in between). An interface, so the election loop can be
 * tested against a fake, and a thin implementation over CoordinationV1Api.
 */
import * as k8s from '@kubernetes/client-node';
import { isNotFound } from './api-errors.js';
import type { LeaseRecord } from './lease-decision.js';

export interface LeaseSnapshot {
  record: LeaseRecord;
  resourceVersion: string;
}

export interface LeaseClient {
  /** The current Lease, or undefined if it does not exist. */
  get(): Promise<LeaseSnapshot | undefined>;
  /** Creates the Lease; fails (409) if it exists already. */
  create(record: LeaseRecord): Promise<LeaseSnapshot>;
  /** Replaces the Lease if it is still at `resourceVersion`; fails (409) otherwise. */
  update(record: LeaseRecord, resourceVersion: string): Promise<LeaseSnapshot>;
}

/** Lease `namespace/name` on the API server of `kubeConfig`. */
export function kubeLeaseClient(
  kubeConfig: k8s.KubeConfig,
  namespace: string,
  name: string,
): LeaseClient {
  const api = kubeConfig.makeApiClient(k8s.CoordinationV1Api);
  return {
    async get() {
      try {
        return snapshotOf(await api.readNamespacedLease({ name, namespace }));
      } catch (error) {
        if (isNotFound(error)) return undefined;
        throw error;
      }
    },
    async create(record) {
      const body: k8s.V1Lease = { metadata: { name, namespace }, spec: specOf(record) };
      return snapshotOf(await api.createNamespacedLease({ namespace, body }));
    },
    async update(record, resourceVersion) {
      const body: k8s.V1Lease = {
        metadata: { name, namespace, resourceVersion },
        spec: specOf(record),
      };
      return snapshotOf(await api.replaceNamespacedLease({ name, namespace, body }));
    },
  };
}

// Lease times are MicroTime: the API server wants six fractional digits, which V1MicroTime writes
// (a plain Date's three are rejected, kubernetes/kubernetes#94748).
function specOf(record: LeaseRecord): k8s.V1LeaseSpec {
  return {
    holderIdentity: record.holderIdentity,
    leaseDurationSeconds: record.leaseDurationSeconds,
    leaseTransitions: record.leaseTransitions,
    acquireTime: microTime(record.acquireTimeMs),
    renewTime: microTime(record.renewTimeMs),
  };
}

function microTime(ms: number | undefined): k8s.V1MicroTime | undefined {
  return ms === undefined ? undefined : new k8s.V1MicroTime(ms);
}

function snapshotOf(lease: k8s.V1Lease): LeaseSnapshot {
  const spec = lease.spec ?? {};
  return {
    resourceVersion: lease.metadata?.resourceVersion ?? '',
    record: {
      holderIdentity: spec.holderIdentity ?? '',
      leaseDurationSeconds: spec.leaseDurationSeconds ?? 0,
      leaseTransitions: spec.leaseTransitions ?? 0,
      acquireTimeMs: epochMs(spec.acquireTime),
      renewTimeMs: epochMs(spec.renewTime),
    },
  };
}

// client-node 2.x does not know the MicroTime type when decoding, so these arrive as strings
// despite the V1MicroTime declaration; accept either.
function epochMs(time: Date | string | undefined): number | undefined {
  if (time === undefined) return undefined;
  const ms = time instanceof Date ? time.getTime() : Date.parse(time);
  return Number.isNaN(ms) ? undefined : ms;
}
