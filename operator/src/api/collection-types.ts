/**
 * The `Collection` custom resource (quorumstore.dev/v1alpha1): one collection ("class") of a
 * Cluster, in the shapes of the sidecar's schema API (Weaviate's class JSON), so the spec maps
 * field for field onto `POST /v1/schema`. Mirrors crds/quorumstore.dev_collections.yaml.
 */
import type {
  AsyncReplicationConfig,
  DataType,
  DeletionStrategy,
  JsonObject,
  Tokenization,
} from '../../../sidecar/src/metadata/types.js';
import type { Condition } from './conditions.js';
import type { ResourceMeta } from './resource.js';

export const DELETION_POLICIES = ['Retain', 'Delete'] as const;
/** What deleting the Collection resource does to the collection and its data in the Cluster. */
export type DeletionPolicy = (typeof DELETION_POLICIES)[number];

export interface CollectionProperty {
  readonly name: string;
  readonly dataType: readonly [DataType];
  readonly description?: string;
  readonly tokenization?: Tokenization;
  readonly indexFilterable?: boolean;
  readonly indexSearchable?: boolean;
  readonly indexRangeFilters?: boolean;
  /** For object/object[]: Weaviate's nested properties, passed through (the sidecar validates). */
  readonly nestedProperties?: readonly JsonObject[];
  readonly moduleConfig?: JsonObject;
}

export interface CollectionReplicationConfig {
  /** Immutable (changing it needs replica movement, which does not exist). */
  readonly factor?: number;
  readonly deletionStrategy?: DeletionStrategy;
  readonly asyncEnabled?: boolean;
  /** Fields left out fall back to the Cluster's `asyncReplication`, then to the node defaults. */
  readonly asyncConfig?: AsyncReplicationConfig;
}

export interface CollectionShardingConfig {
  /** Immutable; absent = the number of nodes when the collection is created. */
  readonly desiredCount?: number;
  readonly virtualPerPhysical?: number;
}

export interface CollectionMultiTenancyConfig {
  /** Immutable. */
  readonly enabled?: boolean;
  readonly autoTenantCreation?: boolean;
  readonly autoTenantActivation?: boolean;
}

export interface CollectionSpec {
  /** The Cluster (same namespace) holding the collection; immutable. */
  readonly clusterRef: { readonly name: string };
  /** The class name in the schema API (`Article`); immutable. */
  readonly className: string;
  readonly description?: string;
  readonly properties?: readonly CollectionProperty[];
  readonly replicationConfig?: CollectionReplicationConfig;
  readonly shardingConfig?: CollectionShardingConfig;
  readonly multiTenancyConfig?: CollectionMultiTenancyConfig;
  readonly deletionPolicy?: DeletionPolicy;
}

export interface CollectionShardStatus {
  readonly name: string;
  /** The nodes holding the shard's replicas. */
  readonly nodes: readonly string[];
}

export interface CollectionStatus {
  readonly observedGeneration?: number;
  readonly conditions?: readonly Condition[];
  /** Schema version (Raft commit index) at which the Cluster applied the last change. */
  readonly schemaVersion?: number;
  readonly shardCount?: number;
  /** Single-tenant collections only: a multi-tenant collection's shards are its tenants. */
  readonly shards?: readonly CollectionShardStatus[];
}

export interface Collection {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: ResourceMeta;
  readonly spec: CollectionSpec;
  readonly status?: CollectionStatus;
}
