/**
 * A Collection's status from the outcome of a reconcile, pure.
 *
 * - Ready: the class exists in the Cluster and matches the spec.
 * - Progressing: True while the operator is waiting to get there (Cluster missing, not ready,
 *   unreachable; a deletion in progress); False once applied or when it cannot get there without
 *   a change of spec (class claimed by another Collection, immutable fields differ, refused).
 */
import { COLLECTION_CONDITIONS, setConditions, type ConditionUpdate } from '../api/conditions.js';
import type { CollectionShardStatus, CollectionStatus } from '../api/collection-types.js';
import type { ShardPlacement } from './cluster-api.js';

export const COLLECTION_REASONS = {
  applied: 'Applied',
  clusterNotFound: 'ClusterNotFound',
  clusterNotReady: 'ClusterNotReady',
  clusterUnavailable: 'ClusterUnavailable',
  classConflict: 'ClassConflict',
  immutableFieldConflict: 'ImmutableFieldConflict',
  rejected: 'Rejected',
  deleting: 'Deleting',
} as const;

export type CollectionOutcome =
  | {
      readonly kind: 'applied';
      readonly className: string;
      readonly clusterName: string;
      /** The latest change's schema version; undefined if none was made (keep the previous). */
      readonly schemaVersion: number | undefined;
      readonly shards: readonly ShardPlacement[] | undefined;
      readonly multiTenant: boolean;
      /** Immutable fields that differ between the spec and the class in the Cluster. */
      readonly conflicts: readonly string[];
    }
  | {
      /** Not there yet, and retrying: the Cluster is missing, not ready or did not answer. */
      readonly kind: 'waiting';
      readonly reason: string;
      readonly message: string;
    }
  | {
      /** Cannot get there without a change of spec. */
      readonly kind: 'failed';
      readonly reason: string;
      readonly message: string;
    };

export function collectionStatus(
  generation: number,
  outcome: CollectionOutcome,
  previous: CollectionStatus | undefined,
  nowMs: number,
): CollectionStatus {
  const condition = (
    type: string,
    status: 'True' | 'False',
    reason: string,
    message: string,
  ): ConditionUpdate => ({ type, status, reason, message, observedGeneration: generation });
  const { ready, progressing } = COLLECTION_CONDITIONS;
  let updates: ConditionUpdate[];
  let applied: Pick<CollectionStatus, 'schemaVersion' | 'shardCount' | 'shards'> = {
    ...(previous?.schemaVersion !== undefined && { schemaVersion: previous.schemaVersion }),
    ...(previous?.shardCount !== undefined && { shardCount: previous.shardCount }),
    ...(previous?.shards !== undefined && { shards: previous.shards }),
  };
  switch (outcome.kind) {
    case 'applied': {
      const where = `class ${outcome.className} in Cluster ${outcome.clusterName}`;
      const conflicting = outcome.conflicts.length > 0;
      updates = [
        conflicting
          ? condition(
              ready,
              'False',
              COLLECTION_REASONS.immutableFieldConflict,
              `${where} differs in immutable fields: ${outcome.conflicts.join('; ')}`,
            )
          : condition(ready, 'True', COLLECTION_REASONS.applied, `${where} matches the spec`),
        conflicting
          ? condition(progressing, 'False', COLLECTION_REASONS.immutableFieldConflict, '')
          : condition(progressing, 'False', COLLECTION_REASONS.applied, ''),
      ];
      const schemaVersion = outcome.schemaVersion ?? previous?.schemaVersion;
      applied = {
        ...(schemaVersion !== undefined && { schemaVersion }),
        ...(outcome.shards && { shardCount: outcome.shards.length }),
        ...(outcome.shards && !outcome.multiTenant && { shards: shardStatus(outcome.shards) }),
      };
      break;
    }
    case 'waiting':
      updates = [
        condition(ready, 'False', outcome.reason, outcome.message),
        condition(progressing, 'True', outcome.reason, outcome.message),
      ];
      break;
    case 'failed':
      updates = [
        condition(ready, 'False', outcome.reason, outcome.message),
        condition(progressing, 'False', outcome.reason, outcome.message),
      ];
      break;
  }
  return {
    observedGeneration: generation,
    conditions: setConditions(previous?.conditions, updates, nowMs),
    ...applied,
  };
}

function shardStatus(shards: readonly ShardPlacement[]): CollectionShardStatus[] {
  return shards.map((shard) => ({ name: shard.name, nodes: [...shard.belongsToNodes] }));
}
