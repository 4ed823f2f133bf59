/**
 * The Collection reconciler: one class of a Cluster, applied through the Cluster's schema API
 * (authenticated with the Cluster's API key). One pass:
 *
 * 1. the finalizer follows `deletionPolicy`: present for Delete (the class is deleted before the
 *    resource goes), absent for Retain (nothing to do on deletion);
 * 2. a second Collection claiming a class already claimed (older creationTimestamp, then name)
 *    fails with ClassConflict and never touches the class;
 * 3. while the Cluster is missing, not ready or not answering: wait (condition) and requeue;
 * 4. class absent → create; present → update the mutable fields (collectionMutableUpdate) and
 *    report differing immutable fields as ImmutableFieldConflict;
 * 5. status: conditions, schema version of the last change, shards and their nodes.
 *
 * The schema lives in the Cluster, which no watch reports on: a class changed or deleted behind
 * the operator's back is corrected at the next event or periodic resync.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { withClusterSchemaDefaults } from '../api/cluster-defaults.js';
import type { Cluster } from '../api/cluster-types.js';
import { withCollectionSchemaDefaults } from '../api/collection-defaults.js';
import type { Collection } from '../api/collection-types.js';
import {
  API_VERSION,
  COLLECTION_KIND,
  COLLECTION_PLURAL,
  GROUP,
  VERSION,
} from '../api/constants.js';
import { collectionMutableUpdate, collectionToSchemaClass } from '../builders/schema-class.js';
import { systemClock, type Clock } from '../runtime/clock.js';
import type { ReconcileResult } from '../runtime/controller.js';
import { parseKey } from '../runtime/keys.js';
import { customObjectStatusClient, type StatusClient } from '../runtime/status-patch.js';
import type { ClusterAccess } from './cluster-access.js';
import { ClusterApiError } from './cluster-api.js';
import { classOwner } from './collection-claims.js';
import {
  COLLECTION_REASONS,
  collectionStatus,
  type CollectionOutcome,
} from './collection-status.js';
import { EVENT_REASONS, type EventReason, type EventRecorder } from './events.js';
import type { KubeClient, ObjectHeader } from './kube-client.js';
import type { ObjectCache } from './object-cache.js';
import { patchResourceStatus } from './resource-status.js';
import type { StateMetrics } from './state-metrics.js';

/** Held while `deletionPolicy: Delete` still has a class to delete. */
export const COLLECTION_FINALIZER = `${GROUP}/delete-collection`;
/** How often to look again while the Cluster has no ready node. */
export const CLUSTER_WAIT_MS = 15_000;
/** How soon to retry when the Cluster did not answer or answered 5xx. */
export const CLUSTER_RETRY_MS = 10_000;

export interface CollectionReconcilerOptions {
  readonly collections: ObjectCache<Collection>;
  readonly clusters: ObjectCache<Cluster>;
  readonly kube: KubeClient;
  readonly access: ClusterAccess;
  readonly events: EventRecorder;
  readonly statusClient: (collection: Collection) => StatusClient<Collection>;
  readonly logger: Logger;
  readonly metrics?: StateMetrics;
  readonly clock?: Clock;
}

interface Applied {
  readonly outcome: CollectionOutcome;
  readonly requeueAfterMs?: number;
}

/** Answers that will not change by retrying the same request. */
const REFUSALS = new Set([400, 409, 422]);

export class CollectionReconciler {
  private readonly clock: Clock;
  private readonly log: Logger;

  constructor(private readonly options: CollectionReconcilerOptions) {
    this.clock = options.clock ?? systemClock;
    this.log = options.logger.child({ reconciler: 'collection' });
  }

  readonly reconcile = async (key: string): Promise<ReconcileResult | void> => {
    const { namespace, name } = parseKey(key);
    const collection = namespace && this.options.collections.get(namespace, name);
    if (!collection || !namespace) {
      this.options.metrics?.forgetCollection({ namespace: namespace ?? '', name });
      return;
    }
    const owner = classOwner(collection, this.options.collections.list(namespace));
    const owns = owner.metadata.name === collection.metadata.name;
    if (collection.metadata.deletionTimestamp) return this.finalize(collection, owns);
    await this.syncFinalizer(collection);
    const { outcome, requeueAfterMs } = owns
      ? await this.apply(collection)
      : this.conflict(collection, owner);
    await this.writeStatus(collection, outcome);
    return requeueAfterMs === undefined ? undefined : { requeueAfterMs };
  };

  private conflict(collection: Collection, owner: Collection): Applied {
    const { className, clusterRef } = collection.spec;
    const message =
      `class ${className} of Cluster ${clusterRef.name} is already managed by Collection ` +
      `${owner.metadata.name} (created first); this Collection leaves it alone until that one ` +
      `is deleted`;
    this.record(collection, 'Warning', EVENT_REASONS.classConflict, message);
    return {
      outcome: { kind: 'failed', reason: COLLECTION_REASONS.classConflict, message },
    };
  }

  private async apply(collection: Collection): Promise<Applied> {
    const { namespace } = collection.metadata;
    const spec = withCollectionSchemaDefaults(collection.spec);
    const clusterName = spec.clusterRef.name;
    const cluster = this.options.clusters.get(namespace, clusterName);
    if (!cluster || cluster.metadata.deletionTimestamp) {
      return {
        outcome: {
          kind: 'waiting',
          reason: COLLECTION_REASONS.clusterNotFound,
          message: `Cluster ${clusterName} ${cluster ? 'is being deleted' : 'does not exist'} in namespace ${namespace}`,
        },
      };
    }
    if ((cluster.status?.readyNodes ?? 0) === 0) {
      return {
        outcome: {
          kind: 'waiting',
          reason: COLLECTION_REASONS.clusterNotReady,
          message: `Cluster ${clusterName} has no ready node yet`,
        },
        requeueAfterMs: CLUSTER_WAIT_MS,
      };
    }
    const clusterSpec = withClusterSchemaDefaults(cluster.spec);
    const asyncDefaults = clusterSpec.asyncReplication ?? {};
    try {
      const api = await this.options.access.apiFor({
        namespace,
        name: clusterName,
        clusterDomain: clusterSpec.clusterDomain,
      });
      const current = await api.getClass(spec.className);
      let schemaVersion: number | undefined;
      let conflicts: readonly string[] = [];
      const where = `class ${spec.className} in Cluster ${clusterName}`;
      if (current === undefined) {
        const written = await api.createClass(collectionToSchemaClass(collection, asyncDefaults));
        schemaVersion = written.schemaVersion;
        this.record(
          collection,
          'Normal',
          EVENT_REASONS.created,
          `created ${where}${at(schemaVersion)}`,
        );
      } else {
        const plan = collectionMutableUpdate(collection, current, asyncDefaults);
        conflicts = plan.conflicts;
        if (plan.body !== null) {
          const written = await api.updateClass(current.class, plan.body);
          schemaVersion = written.schemaVersion;
          this.record(
            collection,
            'Normal',
            EVENT_REASONS.updated,
            `updated ${where}${at(schemaVersion)}`,
          );
        }
        if (conflicts.length > 0) {
          this.record(
            collection,
            'Warning',
            EVENT_REASONS.immutableFieldConflict,
            `${where} differs in immutable fields: ${conflicts.join('; ')}`,
          );
        }
      }
      return {
        outcome: {
          kind: 'applied',
          className: spec.className,
          clusterName,
          schemaVersion,
          shards: await api.shards(spec.className),
          multiTenant: spec.multiTenancyConfig.enabled,
          conflicts,
        },
      };
    } catch (error) {
      if (!(error instanceof ClusterApiError)) throw error;
      if (error.status !== undefined && REFUSALS.has(error.status)) {
        const message = `Cluster ${clusterName} refused class ${spec.className}: ${error.message}`;
        this.record(collection, 'Warning', EVENT_REASONS.rejected, message);
        return { outcome: { kind: 'failed', reason: COLLECTION_REASONS.rejected, message } };
      }
      this.log.info(
        { collection: `${namespace}/${collection.metadata.name}`, err: error.message },
        'Cluster API unavailable; retrying',
      );
      return {
        outcome: {
          kind: 'waiting',
          reason: COLLECTION_REASONS.clusterUnavailable,
          message: `Cluster ${clusterName} did not accept the request: ${error.message}`,
        },
        requeueAfterMs: CLUSTER_RETRY_MS,
      };
    }
  }

  /** The finalizer is held only where deletion has work to do (deletionPolicy: Delete). */
  private async syncFinalizer(collection: Collection): Promise<void> {
    const wanted = withCollectionSchemaDefaults(collection.spec).deletionPolicy === 'Delete';
    const finalizers = collection.metadata.finalizers ?? [];
    const held = finalizers.includes(COLLECTION_FINALIZER);
    if (wanted === held) return;
    await this.options.kube.setFinalizers(
      this.header(collection),
      collection.metadata.resourceVersion ?? '',
      wanted
        ? [...finalizers, COLLECTION_FINALIZER]
        : finalizers.filter((finalizer) => finalizer !== COLLECTION_FINALIZER),
    );
  }

  /**
   * Deletion with the finalizer held: the owner of the class deletes it (a claimant that lost
   * never does); if the Cluster itself is gone there is nothing left to delete. The finalizer is
   * released only after the class is gone, so a Cluster that does not answer holds the deletion.
   */
  private async finalize(collection: Collection, owns: boolean): Promise<ReconcileResult | void> {
    const finalizers = collection.metadata.finalizers ?? [];
    if (!finalizers.includes(COLLECTION_FINALIZER)) return;
    const spec = withCollectionSchemaDefaults(collection.spec);
    const { namespace } = collection.metadata;
    const cluster = this.options.clusters.get(namespace, spec.clusterRef.name);
    if (
      spec.deletionPolicy === 'Delete' &&
      owns &&
      cluster &&
      !cluster.metadata.deletionTimestamp
    ) {
      const where = `class ${spec.className} in Cluster ${spec.clusterRef.name}`;
      try {
        const api = await this.options.access.apiFor({
          namespace,
          name: spec.clusterRef.name,
          clusterDomain: withClusterSchemaDefaults(cluster.spec).clusterDomain,
        });
        const { schemaVersion } = await api.deleteClass(spec.className);
        this.record(
          collection,
          'Normal',
          EVENT_REASONS.deleted,
          `deleted ${where}${at(schemaVersion)} (deletionPolicy: Delete)`,
        );
      } catch (error) {
        if (!(error instanceof ClusterApiError)) throw error;
        await this.writeStatus(collection, {
          kind: 'waiting',
          reason: COLLECTION_REASONS.deleting,
          message: `cannot delete ${where} yet: ${error.message}`,
        });
        return { requeueAfterMs: CLUSTER_RETRY_MS };
      }
    }
    await this.options.kube.setFinalizers(
      this.header(collection),
      collection.metadata.resourceVersion ?? '',
      finalizers.filter((finalizer) => finalizer !== COLLECTION_FINALIZER),
    );
  }

  private async writeStatus(collection: Collection, outcome: CollectionOutcome): Promise<void> {
    const generation = collection.metadata.generation ?? 0;
    const object = await patchResourceStatus(
      this.options.statusClient(collection),
      collection,
      (current) => collectionStatus(generation, outcome, current.status, this.clock.now()),
    );
    if (object === undefined) return;
    const { namespace, name } = collection.metadata;
    this.options.metrics?.collection({ namespace, name }, object.status?.conditions ?? []);
  }

  private header(collection: Collection): ObjectHeader {
    const { name, namespace } = collection.metadata;
    return { apiVersion: API_VERSION, kind: COLLECTION_KIND, metadata: { name, namespace } };
  }

  private record(
    collection: Collection,
    type: 'Normal' | 'Warning',
    reason: EventReason,
    message: string,
  ): void {
    this.options.events.record(
      { apiVersion: API_VERSION, kind: COLLECTION_KIND, metadata: collection.metadata },
      type,
      reason,
      message,
    );
  }
}

function at(schemaVersion: number | undefined): string {
  return schemaVersion === undefined ? '' : ` (schema version ${schemaVersion})`;
}

/** Status writes through the Collection's status subresource. */
export function collectionStatusClient(
  kubeConfig: KubeConfig,
): (collection: Collection) => StatusClient<Collection> {
  return (collection) =>
    customObjectStatusClient<Collection>(kubeConfig, {
      group: GROUP,
      version: VERSION,
      plural: COLLECTION_PLURAL,
      namespace: collection.metadata.namespace,
      name: collection.metadata.name,
    });
}
