/**
 * The configuration sections of a collection: replication (with Weaviate's asyncConfig bounds),
 * sharding and multi-tenancy, normalized with Weaviate's defaults (usecases/sharding/config,
 * entities/replication, usecases/schema/class.go). Throw `InvalidInput`.
 */
import { child, fail, show } from './invalid.js';
import { type Mutable, integerField, optionalBoolean, optionalString, section } from './fields.js';
import {
  ASYNC_CONFIG_FIELDS,
  DEFAULT_DELETION_STRATEGY,
  DEFAULT_VIRTUAL_PER_PHYSICAL,
  DELETION_STRATEGIES,
  METADATA_LIMITS,
  MULTI_TENANT_HASHTREE_HEIGHT,
  SHARDING_FUNCTION,
  SHARDING_KEY,
  SHARDING_STRATEGY,
  type AsyncConfigField,
  type AsyncFieldSpec,
  type AsyncReplicationConfig,
  type CollectionDefinition,
  type DeletionStrategy,
  type MultiTenancyConfig,
  type ReplicationConfig,
  type ShardingConfig,
} from './types.js';

/**
 * `create`: a client's new collection — defaults from the cluster size, Weaviate's creation-only
 * checks. `stored`: a definition that was normalized before (a command, a snapshot, an update
 * merged onto the existing definition) — no cluster-dependent defaults, idempotent.
 */
export type NormalizeMode =
  { readonly kind: 'create'; readonly nodeCount: number } | { readonly kind: 'stored' };

const MULTI_TENANT_SHARDING: ShardingConfig = {
  virtualPerPhysical: 0,
  desiredCount: 0,
  actualCount: 0,
  desiredVirtualCount: 0,
  actualVirtualCount: 0,
  key: '',
  strategy: '',
  function: '',
};

/** The message for a replication factor larger than the cluster (names both numbers). */
export function factorExceedsNodesMessage(factor: number, nodeCount: number): string {
  return (
    `invalid replicationConfig.factor ${factor}: the cluster has only ${nodeCount} ` +
    `node${nodeCount === 1 ? '' : 's'} and every replica of a shard needs its own node ` +
    `(not enough storage replicas: found ${nodeCount} want ${factor})`
  );
}

/**
 * The async-replication settings in force for a collection: a node-level value > 0 (env
 * `ASYNC_REPLICATION_*`) wins over the collection's `asyncConfig`, which wins over the default
 * (Weaviate's `Effective()`; hashtreeHeight defaults to 10 for multi-tenant collections).
 */
export function effectiveAsyncConfig(
  definition: CollectionDefinition,
  nodeOverrides: AsyncReplicationConfig = {},
): Required<AsyncReplicationConfig> {
  const configured = definition.replicationConfig.asyncConfig ?? {};
  const effective: Partial<Record<AsyncConfigField, number>> = {};
  for (const field of Object.keys(ASYNC_CONFIG_FIELDS) as AsyncConfigField[]) {
    const override = nodeOverrides[field];
    const fallback =
      field === 'hashtreeHeight' && definition.multiTenancyConfig.enabled
        ? MULTI_TENANT_HASHTREE_HEIGHT
        : ASYNC_CONFIG_FIELDS[field].default;
    effective[field] =
      override !== undefined && override > 0 ? override : (configured[field] ?? fallback);
  }
  return effective as Required<AsyncReplicationConfig>;
}

export function normalizeMultiTenancyConfig(raw: unknown): MultiTenancyConfig {
  const field = 'multiTenancyConfig';
  const input = section(raw, field);
  const config: MultiTenancyConfig = {
    enabled: optionalBoolean(input.enabled, child(field, 'enabled')),
    autoTenantCreation: optionalBoolean(
      input.autoTenantCreation,
      child(field, 'autoTenantCreation'),
    ),
    autoTenantActivation: optionalBoolean(
      input.autoTenantActivation,
      child(field, 'autoTenantActivation'),
    ),
  };
  if (!config.enabled) {
    for (const flag of ['autoTenantCreation', 'autoTenantActivation'] as const) {
      if (config[flag])
        fail(child(field, flag), `can't enable ${flag} on a non-multi-tenant class`);
    }
  }
  return config;
}

export function normalizeReplicationConfig(raw: unknown, mode: NormalizeMode): ReplicationConfig {
  const field = 'replicationConfig';
  const input = section(raw, field);
  const factorField = child(field, 'factor');
  const givenFactor = input.factor ?? 0;
  if (typeof givenFactor !== 'number' || !Number.isSafeInteger(givenFactor) || givenFactor < 0) {
    fail(factorField, `${factorField} must be a positive integer (got ${show(input.factor)})`);
  }
  // 0 and absent mean "the default" (1), as in Weaviate where 0 is Go's unset value.
  const factor = givenFactor || 1;
  if (mode.kind === 'create' && factor > mode.nodeCount) {
    fail(factorField, factorExceedsNodesMessage(factor, mode.nodeCount));
  }
  const strategyField = child(field, 'deletionStrategy');
  const strategy =
    optionalString(input.deletionStrategy, strategyField) ?? DEFAULT_DELETION_STRATEGY;
  if (!(DELETION_STRATEGIES as readonly string[]).includes(strategy)) {
    fail(
      strategyField,
      `${strategyField}: invalid value "${strategy}"; must be one of ${DELETION_STRATEGIES.join(', ')}`,
    );
  }
  const config: Mutable<ReplicationConfig> = {
    factor,
    // Default on when there is another replica to synchronize with (Weaviate defaults to off;
    // our anti-entropy is cheap when idle and is what heals a node that missed writes).
    asyncEnabled:
      input.asyncEnabled === undefined || input.asyncEnabled === null
        ? factor > 1
        : optionalBoolean(input.asyncEnabled, child(field, 'asyncEnabled')),
    deletionStrategy: strategy as DeletionStrategy,
  };
  const asyncConfig = normalizeAsyncConfig(input.asyncConfig, child(field, 'asyncConfig'));
  if (asyncConfig) config.asyncConfig = asyncConfig;
  return config;
}

const UNIT_NAMES = { count: '', ms: ' (milliseconds)', s: ' (seconds)' } as const;

/** Known fields checked against their bounds; unknown ones (e.g. pre-1.38 `maxWorkers`) dropped. */
function normalizeAsyncConfig(raw: unknown, field: string): AsyncReplicationConfig | undefined {
  const input = section(raw, field);
  const config: Partial<Record<AsyncConfigField, number>> = {};
  for (const [name, spec] of Object.entries(ASYNC_CONFIG_FIELDS) as [
    AsyncConfigField,
    AsyncFieldSpec,
  ][]) {
    const value = integerField(input[name], child(field, name), spec, UNIT_NAMES[spec.unit]);
    if (value !== undefined) config[name] = value;
  }
  return Object.keys(config).length > 0 ? config : undefined;
}

export function normalizeShardingConfig(
  raw: unknown,
  multiTenant: boolean,
  mode: NormalizeMode,
): ShardingConfig {
  const field = 'shardingConfig';
  if (multiTenant) {
    // Tenants are the shards; Weaviate stores an empty sharding config for such classes.
    if (mode.kind === 'create' && raw !== undefined && raw !== null) {
      fail(field, 'cannot have both shardingConfig and multiTenancyConfig');
    }
    return MULTI_TENANT_SHARDING;
  }
  const input = section(raw, field);
  const virtualPerPhysical =
    integerField(input.virtualPerPhysical, child(field, 'virtualPerPhysical'), {
      min: 1,
      max: METADATA_LIMITS.maxVirtualPerPhysical,
    }) ?? DEFAULT_VIRTUAL_PER_PHYSICAL;
  const desiredField = child(field, 'desiredCount');
  const desiredCount =
    integerField(input.desiredCount, desiredField, {
      min: 1,
      max: METADATA_LIMITS.maxDesiredCount,
    }) ??
    (mode.kind === 'create' ? mode.nodeCount : fail(desiredField, `${desiredField} is required`));
  if (desiredCount > METADATA_LIMITS.maxDesiredCount) {
    fail(
      desiredField,
      `${desiredField}: value ${desiredCount} out of range: min 1, max ${METADATA_LIMITS.maxDesiredCount}`,
    );
  }
  const virtualCount = desiredCount * virtualPerPhysical;
  if (virtualCount > METADATA_LIMITS.maxVirtualShards) {
    fail(
      child(field, 'virtualPerPhysical'),
      `${desiredCount} shards × ${virtualPerPhysical} virtual shards per physical is ${virtualCount} ` +
        `virtual shards, more than the limit of ${METADATA_LIMITS.maxVirtualShards}`,
    );
  }
  const fixed = (key: 'key' | 'strategy' | 'function', only: string): string => {
    const value = optionalString(input[key], child(field, key)) ?? only;
    if (value !== only) {
      fail(
        child(field, key),
        `sharding only supported with ${key} '${only}' for now, got: ${value}`,
      );
    }
    return value;
  };
  return {
    virtualPerPhysical,
    desiredCount,
    // Equal to the desired counts until resharding exists (as in Weaviate).
    actualCount: desiredCount,
    desiredVirtualCount: virtualCount,
    actualVirtualCount: virtualCount,
    key: fixed('key', SHARDING_KEY),
    strategy: fixed('strategy', SHARDING_STRATEGY),
    function: fixed('function', SHARDING_FUNCTION),
  };
}
