/**
 * A Cluster's status from what the reconcile observed, pure. The conditions are the truth;
 * `phase` only summarizes them for `kubectl get`.
 *
 * - Ready: every node the StatefulSet runs is ready and runs the current template.
 * - Progressing: True while the operator or the StatefulSet is still getting there (creating,
 *   rolling out, scaling, nodes starting for the first time after a change, voters being added).
 *   False once converged, or when progress is refused (ScaleDownBlocked) or stopped (Paused).
 * - Degraded: a Secret (key) the pods reference is missing, nodes not ready although nothing is
 *   in progress (a node failed after the rollout), or the nodes answer but have no Raft leader.
 *
 * Readiness itself comes from the pods' readiness probes (storage up, a majority reachable, a
 * Raft leader known), as the StatefulSet counts them: no kubelet data is re-derived here.
 */
import type { V1StatefulSet } from '@kubernetes/client-node';
import {
  CLUSTER_CONDITIONS,
  findCondition,
  setConditions,
  type ConditionUpdate,
} from '../api/conditions.js';
import type { ClusterStatus, RaftStatus } from '../api/cluster-types.js';

export const CLUSTER_REASONS = {
  allNodesReady: 'AllNodesReady',
  nodesNotReady: 'NodesNotReady',
  creating: 'Creating',
  rollingOut: 'RollingOut',
  scaling: 'Scaling',
  nodesStarting: 'NodesStarting',
  addingVoters: 'AddingVoters',
  recreating: 'RecreatingStatefulSet',
  converged: 'Converged',
  scaleDownBlocked: 'ScaleDownBlocked',
  paused: 'Paused',
  noLeader: 'NoLeader',
  secretMissing: 'SecretMissing',
  asExpected: 'AsExpected',
} as const;

export const PHASES = {
  paused: 'Paused',
  scaleDownBlocked: 'ScaleDownBlocked',
  degraded: 'Degraded',
  progressing: 'Progressing',
  ready: 'Ready',
} as const;

export interface ClusterObservation {
  readonly generation: number;
  /** `spec.nodes`. */
  readonly desiredNodes: number;
  readonly wantedVoters: number;
  /**
   * The voters the pods are configured to found the cluster with (founding-voters.ts); recorded
   * as `raft.bootstrapVoters` unless the status has it already (the record never changes).
   */
  readonly foundingVoters: number;
  readonly clusterId: string;
  readonly selector: string;
  /** The StatefulSet as last written or read; undefined before it exists. */
  readonly statefulSet: V1StatefulSet | undefined;
  /** Set while the StatefulSet is being orphan-deleted to be recreated. */
  readonly recreating?: string;
  /** Set when a scale-down is refused: the message naming shards and nodes. */
  readonly scaleDownBlocked?: string;
  /** What the nodes report; undefined when their API could not be asked. */
  readonly raft?: RaftStatus;
  /** Secrets (or keys of them) the pods reference that do not exist. */
  readonly missingSecrets?: readonly string[];
  /**
   * The cluster secret is being rotated: the pods accept the previous one until every pod runs
   * the new one (see cluster-secrets.ts).
   */
  readonly rotatingClusterSecret?: boolean;
}

interface Rollout {
  readonly replicas: number;
  readonly ready: number;
  /** Pods the StatefulSet should run (its spec; differs from spec.nodes while scaling). */
  readonly target: number;
  readonly rolledOut: boolean;
}

function rolloutOf(sts: V1StatefulSet): Rollout {
  const target = sts.spec?.replicas ?? 0;
  const status = sts.status;
  const replicas = status?.replicas ?? 0;
  const updated = status?.updatedReplicas ?? 0;
  const observed = (status?.observedGeneration ?? 0) >= (sts.metadata?.generation ?? 0);
  const revisions =
    status?.updateRevision === undefined || status.currentRevision === status.updateRevision;
  return {
    replicas,
    ready: status?.readyReplicas ?? 0,
    target,
    rolledOut: observed && revisions && replicas === target && updated === target,
  };
}

/**
 * The StatefulSet's rollout is complete: its controller has seen the current spec, and every pod
 * runs the current template and is ready (the same judgement as Progressing and Ready). What a
 * step that must not overlap a rollout waits for.
 */
export function rolloutComplete(sts: V1StatefulSet): boolean {
  const rollout = rolloutOf(sts);
  return rollout.rolledOut && rollout.ready === rollout.target;
}

function progressing(
  observation: ClusterObservation,
  rollout: Rollout | undefined,
  previous: ClusterStatus | undefined,
): ConditionUpdate {
  const condition = (status: 'True' | 'False', reason: string, message: string) => ({
    type: CLUSTER_CONDITIONS.progressing,
    status,
    reason,
    message,
    observedGeneration: observation.generation,
  });
  const { desiredNodes } = observation;
  if (observation.recreating !== undefined) {
    return condition('True', CLUSTER_REASONS.recreating, observation.recreating);
  }
  if (observation.scaleDownBlocked !== undefined) {
    return condition('False', CLUSTER_REASONS.scaleDownBlocked, observation.scaleDownBlocked);
  }
  if (rollout === undefined) {
    return condition('True', CLUSTER_REASONS.creating, 'creating the StatefulSet');
  }
  if (rollout.target !== desiredNodes) {
    return condition(
      'True',
      CLUSTER_REASONS.scaling,
      `scaling from ${rollout.target} to ${desiredNodes} nodes`,
    );
  }
  if (!rollout.rolledOut) {
    const rotation = observation.rotatingClusterSecret
      ? '; rotating the cluster secret: the previous one is accepted until every node runs the new one'
      : '';
    return condition(
      'True',
      CLUSTER_REASONS.rollingOut,
      `rolling out: ${rollout.replicas} of ${rollout.target} pods exist, waiting for the ` +
        `StatefulSet${rotation}`,
    );
  }
  const before = findCondition(previous?.conditions, CLUSTER_CONDITIONS.progressing);
  // Nodes not ready right after a change are starting; once converged, a node that stops being
  // ready is a degradation, not progress.
  // (A Cluster coming out of a pause is treated as starting too.)
  const stillStarting =
    before === undefined || before.status === 'True' || before.reason === CLUSTER_REASONS.paused;
  if (rollout.ready < rollout.target && stillStarting) {
    return condition(
      'True',
      CLUSTER_REASONS.nodesStarting,
      `${rollout.ready} of ${rollout.target} nodes ready`,
    );
  }
  const voters = observation.raft?.voters?.length;
  if (voters !== undefined && voters < observation.wantedVoters) {
    return condition(
      'True',
      CLUSTER_REASONS.addingVoters,
      `${voters} of ${observation.wantedVoters} voters; promoting ready learners`,
    );
  }
  return condition(
    'False',
    CLUSTER_REASONS.converged,
    `${rollout.target} nodes up to date${rollout.ready === rollout.target ? ' and ready' : ''}`,
  );
}

/** The status the Cluster should have; `previous` supplies transition times and history. */
export function clusterStatus(
  observation: ClusterObservation,
  previous: ClusterStatus | undefined,
  nowMs: number,
): ClusterStatus {
  const { generation } = observation;
  const sts = observation.statefulSet;
  const rollout = sts && rolloutOf(sts);
  const progress = progressing(observation, rollout, previous);
  const ready = rollout?.ready ?? 0;
  const target = rollout?.target ?? observation.desiredNodes;
  const allReady = rollout !== undefined && rollout.rolledOut && ready === target && target > 0;
  const leader = observation.raft?.leader;
  const readyCondition: ConditionUpdate = allReady
    ? {
        type: CLUSTER_CONDITIONS.ready,
        status: 'True',
        reason: CLUSTER_REASONS.allNodesReady,
        message: `${ready} of ${target} nodes ready${leader ? `, Raft leader ${leader}` : ''}`,
        observedGeneration: generation,
      }
    : {
        type: CLUSTER_CONDITIONS.ready,
        status: 'False',
        reason: CLUSTER_REASONS.nodesNotReady,
        message: `${ready} of ${target} nodes ready`,
        observedGeneration: generation,
      };
  const degraded = degradedCondition(observation, progress, ready, target);
  const conditions = setConditions(
    previous?.conditions,
    [readyCondition, progress, degraded],
    nowMs,
  );
  return {
    observedGeneration: generation,
    conditions,
    phase: phaseOf(readyCondition.status === 'True', progress, degraded),
    nodes: sts?.status?.replicas ?? 0,
    readyNodes: ready,
    selector: observation.selector,
    clusterId: observation.clusterId,
    raft: {
      bootstrapVoters: previous?.raft?.bootstrapVoters ?? observation.foundingVoters,
      ...observation.raft,
    },
  };
}

function degradedCondition(
  observation: ClusterObservation,
  progress: ConditionUpdate,
  ready: number,
  target: number,
): ConditionUpdate {
  const base = { type: CLUSTER_CONDITIONS.degraded, observedGeneration: observation.generation };
  const missing = observation.missingSecrets ?? [];
  if (missing.length > 0) {
    return {
      ...base,
      status: 'True',
      reason: CLUSTER_REASONS.secretMissing,
      message: `missing ${missing.join(', ')}, referenced by the pods: new pods cannot start`,
    };
  }
  if (progress.status === 'False' && ready < target) {
    return {
      ...base,
      status: 'True',
      reason: CLUSTER_REASONS.nodesNotReady,
      message: `${ready} of ${target} nodes ready`,
    };
  }
  if (observation.raft !== undefined && !observation.raft.leader && ready > 0) {
    return {
      ...base,
      status: 'True',
      reason: CLUSTER_REASONS.noLeader,
      message: 'the nodes answer but report no Raft leader',
    };
  }
  return { ...base, status: 'False', reason: CLUSTER_REASONS.asExpected, message: '' };
}

function phaseOf(ready: boolean, progress: ConditionUpdate, degraded: ConditionUpdate): string {
  if (progress.reason === CLUSTER_REASONS.scaleDownBlocked) return PHASES.scaleDownBlocked;
  if (degraded.status === 'True') return PHASES.degraded;
  if (progress.status === 'True') return PHASES.progressing;
  return ready ? PHASES.ready : PHASES.progressing;
}

/**
 * The status of a paused Cluster: Progressing says Paused, the rest is left as last computed
 * (nothing is being observed or changed), and observedGeneration records that the spec was seen.
 */
export function pausedStatus(
  generation: number,
  previous: ClusterStatus | undefined,
  nowMs: number,
): ClusterStatus {
  return {
    ...previous,
    observedGeneration: generation,
    conditions: setConditions(
      previous?.conditions,
      [
        {
          type: CLUSTER_CONDITIONS.progressing,
          status: 'False',
          reason: CLUSTER_REASONS.paused,
          message: 'reconciliation paused (spec.paused): the Cluster objects are left as they are',
          observedGeneration: generation,
        },
      ],
      nowMs,
    ),
    phase: PHASES.paused,
  };
}

export function isPaused(status: ClusterStatus | undefined): boolean {
  return (
    findCondition(status?.conditions, CLUSTER_CONDITIONS.progressing)?.reason ===
    CLUSTER_REASONS.paused
  );
}
