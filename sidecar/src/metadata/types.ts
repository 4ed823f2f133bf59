/**
 * The cluster metadata as the client API shows it (Weaviate's schema shapes) and as the Raft
 * state machine stores it: collections ("classes"), their sharding state and their tenants.
 *
 * Every definition here is plain JSON data: commands and snapshots serialize it canonically, so
 * two nodes holding equal metadata hold byte-identical snapshots.
 */

/** Any JSON value; used for the Weaviate fields we store but do not interpret. */
export type JsonValue =
  null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** Outcome of a pure validation: the normalized value, or the first problem found. */
export type Result<T> = { readonly ok: T } | { readonly error: ValidationError };

/** `field` is a path into the input (`replicationConfig.factor`, `properties[2].dataType`). */
export interface ValidationError {
  readonly field: string;
  readonly message: string;
}

// ---------------------------------------------------------------------------------------------
// Properties

/** Primitive and nested data types we store (Weaviate's, without cross-references and geo/phone). */
export const DATA_TYPES = [
  'text',
  'text[]',
  'int',
  'int[]',
  'number',
  'number[]',
  'boolean',
  'boolean[]',
  'date',
  'date[]',
  'uuid',
  'uuid[]',
  'object',
  'object[]',
  'blob',
] as const;
export type DataType = (typeof DATA_TYPES)[number];

/** Tokenizations for text/text[] (Weaviate's, without the optional gse/kagome tokenizers). */
export const TOKENIZATIONS = ['word', 'lowercase', 'whitespace', 'field', 'trigram'] as const;
export type Tokenization = (typeof TOKENIZATIONS)[number];

export interface NestedPropertyDefinition {
  readonly name: string;
  /** Always exactly one element, as Weaviate returns it for non-reference types. */
  readonly dataType: readonly [DataType];
  readonly description?: string;
  /** Present for text/text[] only. */
  readonly tokenization?: Tokenization;
  readonly indexFilterable: boolean;
  readonly indexSearchable: boolean;
  readonly indexRangeFilters: boolean;
  /** Present (non-empty) for object/object[] only. */
  readonly nestedProperties?: readonly NestedPropertyDefinition[];
}

export interface PropertyDefinition extends NestedPropertyDefinition {
  /** Module settings: stored verbatim, not interpreted. */
  readonly moduleConfig?: JsonObject;
}

// ---------------------------------------------------------------------------------------------
// Replication

export const DELETION_STRATEGIES = [
  'NoAutomatedResolution',
  'DeleteOnConflict',
  'TimeBasedResolution',
] as const;
export type DeletionStrategy = (typeof DELETION_STRATEGIES)[number];
/** Weaviate's default for new collections since v1.34.14 / 1.35.7 / 1.36. */
export const DEFAULT_DELETION_STRATEGY: DeletionStrategy = 'TimeBasedResolution';

/**
 * Per-collection anti-entropy tuning (Weaviate's `replicationConfig.asyncConfig`). Every field is
 * optional: an absent field means "use the node's value or the default" (see
 * `effectiveAsyncConfig`). Units follow Weaviate: `ms` fields are milliseconds, `s` fields seconds.
 */
export interface AsyncReplicationConfig {
  readonly hashtreeHeight?: number;
  /** ms */
  readonly frequency?: number;
  /** ms */
  readonly frequencyWhilePropagating?: number;
  /** s */
  readonly loggingFrequency?: number;
  readonly diffBatchSize?: number;
  /** s */
  readonly diffPerNodeTimeout?: number;
  /** s */
  readonly prePropagationTimeout?: number;
  /** s */
  readonly propagationTimeout?: number;
  readonly propagationLimit?: number;
  readonly propagationConcurrency?: number;
  readonly propagationBatchSize?: number;
  /** ms */
  readonly propagationDelay?: number;
}
export type AsyncConfigField = keyof AsyncReplicationConfig;

export interface AsyncFieldSpec {
  readonly unit: 'count' | 'ms' | 's';
  readonly min: number;
  readonly max: number;
  /** Single-tenant default; `hashtreeHeight` has its own multi-tenant default. */
  readonly default: number;
}

/** Largest duration Go's time.Duration holds, in ms and in s (Weaviate rejects larger values). */
const MAX_DURATION_MS = 9_223_372_036_854;
const MAX_DURATION_S = 9_223_372_036;

/**
 * Defaults and bounds from the reference (§4, Weaviate HEAD). The lower bounds of the
 * frequencies are the reference's: Weaviate itself accepts smaller values and clamps them at run
 * time; we reject them so the stored config is the effective one.
 */
export const ASYNC_CONFIG_FIELDS: { readonly [F in AsyncConfigField]-?: AsyncFieldSpec } = {
  hashtreeHeight: { unit: 'count', min: 0, max: 20, default: 16 },
  frequency: { unit: 'ms', min: 5_000, max: MAX_DURATION_MS, default: 30_000 },
  frequencyWhilePropagating: { unit: 'ms', min: 1_000, max: MAX_DURATION_MS, default: 5_000 },
  loggingFrequency: { unit: 's', min: 1, max: MAX_DURATION_S, default: 60 },
  diffBatchSize: { unit: 'count', min: 1, max: 10_000, default: 1_000 },
  diffPerNodeTimeout: { unit: 's', min: 1, max: MAX_DURATION_S, default: 10 },
  prePropagationTimeout: { unit: 's', min: 1, max: MAX_DURATION_S, default: 300 },
  propagationTimeout: { unit: 's', min: 1, max: MAX_DURATION_S, default: 60 },
  propagationLimit: { unit: 'count', min: 1, max: 100_000, default: 1_000 },
  propagationConcurrency: { unit: 'count', min: 1, max: 20, default: 1 },
  propagationBatchSize: { unit: 'count', min: 1, max: 1_000, default: 100 },
  propagationDelay: { unit: 'ms', min: 1, max: MAX_DURATION_MS, default: 30_000 },
};
/** Smaller trees for tenants: there are many of them (reference §4). */
export const MULTI_TENANT_HASHTREE_HEIGHT = 10;

export interface ReplicationConfig {
  readonly factor: number;
  /** Weaviate v1.26–1.37 switch for anti-entropy (default false). */
  readonly asyncEnabled: boolean;
  readonly deletionStrategy: DeletionStrategy;
  readonly asyncConfig?: AsyncReplicationConfig;
}

// ---------------------------------------------------------------------------------------------
// Sharding and multi-tenancy

/** What Weaviate returns as `shardingConfig`; all zero / empty for multi-tenant collections. */
export interface ShardingConfig {
  readonly virtualPerPhysical: number;
  readonly desiredCount: number;
  readonly actualCount: number;
  readonly desiredVirtualCount: number;
  readonly actualVirtualCount: number;
  readonly key: string;
  readonly strategy: string;
  readonly function: string;
}
export const DEFAULT_VIRTUAL_PER_PHYSICAL = 128;
export const SHARDING_KEY = '_id';
export const SHARDING_STRATEGY = 'hash';
export const SHARDING_FUNCTION = 'murmur3';

export interface MultiTenancyConfig {
  readonly enabled: boolean;
  readonly autoTenantCreation: boolean;
  readonly autoTenantActivation: boolean;
}

// ---------------------------------------------------------------------------------------------
// Collection

export interface CollectionDefinition {
  readonly class: string;
  readonly description?: string;
  readonly properties: readonly PropertyDefinition[];
  readonly replicationConfig: ReplicationConfig;
  readonly shardingConfig: ShardingConfig;
  readonly multiTenancyConfig: MultiTenancyConfig;
  /** Stored verbatim with Weaviate's top-level defaults filled (bm25, stopwords, cleanup). */
  readonly invertedIndexConfig: JsonObject;
  /** Only `none`: this store has no vectorizer modules. Absent when named vectors are used. */
  readonly vectorizer?: string;
  readonly vectorIndexType?: string;
  /** The following are stored verbatim, not interpreted. */
  readonly vectorIndexConfig?: JsonObject;
  readonly vectorConfig?: JsonObject;
  readonly moduleConfig?: JsonObject;
}

// ---------------------------------------------------------------------------------------------
// Tenants

export const TENANT_ACTIVITY_STATUSES = ['ACTIVE', 'INACTIVE', 'OFFLOADED'] as const;
export type TenantActivityStatus = (typeof TENANT_ACTIVITY_STATUSES)[number];
/** Weaviate's pre-1.26 names, still accepted on input and translated (never returned). */
export const LEGACY_TENANT_STATUSES: { readonly [legacy: string]: TenantActivityStatus } = {
  HOT: 'ACTIVE',
  COLD: 'INACTIVE',
  FROZEN: 'OFFLOADED',
};

/** A tenant as the tenants API shows it. */
export interface Tenant {
  readonly name: string;
  readonly activityStatus: TenantActivityStatus;
}

// ---------------------------------------------------------------------------------------------
// Placement

/** A shard and the nodes holding its replicas (exactly `factor` distinct nodes). */
export interface ShardPlacement {
  readonly name: string;
  readonly belongsToNodes: readonly string[];
}

/** A tenant is a shard of its own: its status and its replica nodes. */
export interface TenantShard extends Tenant {
  readonly belongsToNodes: readonly string[];
}

/**
 * Where a single-tenant collection's objects live. An object's UUID hashes to one of the virtual
 * shards (equal ranges of the 64-bit token space); `virtualToPhysical[v]` is the index into
 * `physical` of the shard owning virtual shard `v`. Multi-tenant collections have no shards here
 * (both arrays empty): their tenants are the shards.
 */
export interface ShardingState {
  readonly physical: readonly ShardPlacement[];
  readonly virtualToPhysical: readonly number[];
}

// ---------------------------------------------------------------------------------------------
// Limits

/**
 * Explicit bounds on everything the metadata holds, so one request can neither build a Raft
 * entry nor a snapshot of unbounded size. Name lengths are Weaviate's; the others are ours
 * (Weaviate has no limit, or a configurable one) and each error names the limit.
 */
export const METADATA_LIMITS = {
  maxCollections: 1_000,
  maxPropertiesPerCollection: 1_000,
  /** object inside object inside …: bounds recursion. */
  maxNestedPropertyDepth: 8,
  maxNestedPropertiesPerLevel: 1_000,
  maxClassNameLength: 255,
  maxPropertyNameLength: 231,
  maxTenantNameLength: 64,
  maxTenantsPerCollection: 100_000,
  maxTenantsPerCreateCall: 1_000,
  /** Weaviate's limit for status updates. */
  maxTenantsPerUpdateCall: 100,
  maxTenantsPerDeleteCall: 1_000,
  maxDesiredCount: 1_024,
  maxVirtualPerPhysical: 1_024,
  maxVirtualShards: 65_536,
  /**
   * Replica placements one command may carry (shards × factor at creation, tenants × factor
   * when adding tenants): with node names of up to 253 characters this keeps a command well
   * under `maxCommandBytes`.
   */
  maxReplicasPerCommand: 8_192,
  /** Canonical JSON of one collection definition. */
  maxDefinitionBytes: 256 * 1024,
  /** Nesting depth of the opaque JSON fields (moduleConfig, vectorIndexConfig, …). */
  maxOpaqueJsonDepth: 32,
  /** One encoded command (a Raft entry). */
  maxCommandBytes: 4 * 1024 * 1024,
} as const;
