/**
 * How many voters a Cluster was founded with, pure. The nodes get it as RAFT_BOOTSTRAP_EXPECT and
 * the founders' names as RAFT_JOIN (builders/node-env.ts): only how a node without Raft state
 * finds (or, being a founder, founds) the cluster; once a node knows the membership it dials every
 * member itself. So the count is decided once, when the Cluster is created, and kept: a later
 * change of `spec.nodes`, or of `spec.raft.voters` (or of its default by size), would change the
 * pod template, i.e. restart every pod, and buy nothing. Voters wanted later are promoted at
 * runtime through the membership API (cluster-scaling.ts, nextVoter); leaving nodes are removed
 * from it before a scale-down.
 *
 * Where the count comes from, the first that has one:
 *
 * 1. `status.raft.bootstrapVoters`: the operator's own record, written (once, never changed) with
 *    the first status after the StatefulSet was created. It survives what the StatefulSet does
 *    not: the orphan-delete and recreate of an immutable change, a StatefulSet deleted by hand.
 *    It comes first because it is the record meant for this, while the StatefulSet's environment
 *    is a copy anyone may edit.
 * 2. RAFT_BOOTSTRAP_EXPECT of the live StatefulSet's sidecar: what the pods run with. For a
 *    Cluster whose status has no record: made by an operator from before the record (which
 *    wrote `spec.raft.voters` there), its status lost (a restore from backup drops the status
 *    subresource), or not written yet (the reconcile that created the StatefulSet failed before
 *    its status write). Taking what the pods run with keeps the template as it is.
 * 3. `spec.raft.voters` (default by size): a brand-new Cluster, founded now.
 *
 * A value a source holds that RAFT_BOOTSTRAP_EXPECT would refuse is skipped.
 */
import type { V1StatefulSet } from '@kubernetes/client-node';
import { VARS } from '../../../sidecar/src/config/node-config.js';
import type { ClusterStatus } from '../api/cluster-types.js';
import { CONTAINERS } from '../api/constants.js';

export type FoundingVotersSource = 'status' | 'statefulSet' | 'spec';

export interface FoundingVoters {
  readonly voters: number;
  readonly source: FoundingVotersSource;
}

export interface FoundingVotersInput {
  /** The Cluster's status (its record, `raft.bootstrapVoters`). */
  readonly status: ClusterStatus | undefined;
  /** The live StatefulSet; undefined when it does not exist. */
  readonly statefulSet: V1StatefulSet | undefined;
  /** `spec.raft.voters` after defaulting: the founders of a Cluster created now. */
  readonly wanted: number;
}

/** `value` if RAFT_BOOTSTRAP_EXPECT accepts it (an integer in its bounds), else undefined. */
function acceptable(value: unknown): number | undefined {
  if (typeof value !== 'number' && typeof value !== 'string') return undefined;
  try {
    return VARS.raftBootstrapExpect.parse(String(value));
  } catch {
    return undefined;
  }
}

/** The count the status records, if any. */
export function recordedFoundingVoters(status: ClusterStatus | undefined): number | undefined {
  return acceptable(status?.raft?.bootstrapVoters);
}

/** RAFT_BOOTSTRAP_EXPECT of a StatefulSet's sidecar container, if set to a usable value. */
export function liveFoundingVoters(statefulSet: V1StatefulSet | undefined): number | undefined {
  const sidecar = statefulSet?.spec?.template?.spec?.containers?.find(
    (container) => container.name === CONTAINERS.sidecar,
  );
  const variable = sidecar?.env?.find((env) => env.name === VARS.raftBootstrapExpect.name);
  return acceptable(variable?.value);
}

export function foundingVoters(input: FoundingVotersInput): FoundingVoters {
  const recorded = recordedFoundingVoters(input.status);
  if (recorded !== undefined) return { voters: recorded, source: 'status' };
  const live = liveFoundingVoters(input.statefulSet);
  if (live !== undefined) return { voters: live, source: 'statefulSet' };
  return { voters: input.wanted, source: 'spec' };
}
