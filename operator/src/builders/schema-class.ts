/**
 * A Collection as the sidecar's schema API takes it (Weaviate's class JSON): the body of
 * `POST /v1/schema`, and the body of `PUT /v1/schema/{class}` that brings an existing class to
 * the spec. Only what may change goes into an update; differences in immutable fields are
 * reported as conflicts (for a condition), never sent.
 */
import type {
  AsyncReplicationConfig,
  CollectionDefinition,
  DeletionStrategy,
  PropertyDefinition,
} from '../../../sidecar/src/metadata/types.js';
import { withCollectionSchemaDefaults } from '../api/collection-defaults.js';
import type {
  Collection,
  CollectionMultiTenancyConfig,
  CollectionProperty,
} from '../api/collection-types.js';

export type SchemaProperty = CollectionProperty | PropertyDefinition;

export interface SchemaClass {
  readonly class: string;
  readonly description?: string;
  readonly properties: readonly SchemaProperty[];
  readonly replicationConfig: {
    readonly factor: number;
    readonly deletionStrategy: DeletionStrategy;
    readonly asyncEnabled?: boolean;
    readonly asyncConfig?: AsyncReplicationConfig;
  };
  readonly shardingConfig?: { readonly desiredCount?: number; readonly virtualPerPhysical: number };
  readonly multiTenancyConfig: Required<CollectionMultiTenancyConfig>;
}

/** The mutable fields, as `PUT /v1/schema/{class}` merges them onto the stored class. */
export interface SchemaClassUpdate {
  readonly class: string;
  /** `""` removes the description. */
  readonly description: string;
  /** Every existing property (only descriptions may differ), then the added ones. */
  readonly properties: readonly SchemaProperty[];
  readonly replicationConfig: {
    readonly deletionStrategy: DeletionStrategy;
    readonly asyncEnabled: boolean;
    /** Replaced as a whole; `null` removes it. */
    readonly asyncConfig: AsyncReplicationConfig | null;
  };
  readonly multiTenancyConfig: Omit<Required<CollectionMultiTenancyConfig>, 'enabled'>;
}

export interface CollectionUpdatePlan {
  /** The update to send, or null when the class already matches the spec's mutable fields. */
  readonly body: SchemaClassUpdate | null;
  /** Immutable fields that differ: the Cluster would refuse them. */
  readonly conflicts: readonly string[];
}

/** The Collection's asyncConfig over the Cluster's defaults; undefined when both are empty. */
export function desiredAsyncConfig(
  collection: Collection,
  clusterDefaults: AsyncReplicationConfig = {},
): AsyncReplicationConfig | undefined {
  const merged = { ...clusterDefaults, ...collection.spec.replicationConfig?.asyncConfig };
  return Object.keys(merged).length > 0 ? merged : undefined;
}

export function collectionToSchemaClass(
  collection: Collection,
  clusterAsyncDefaults: AsyncReplicationConfig = {},
): SchemaClass {
  const spec = withCollectionSchemaDefaults(collection.spec);
  const { factor, deletionStrategy, asyncEnabled } = spec.replicationConfig;
  const asyncConfig = desiredAsyncConfig(collection, clusterAsyncDefaults);
  return {
    class: spec.className,
    ...(spec.description && { description: spec.description }),
    properties: [...(spec.properties ?? [])],
    replicationConfig: {
      factor,
      deletionStrategy,
      ...(asyncEnabled !== undefined && { asyncEnabled }),
      ...(asyncConfig && { asyncConfig }),
    },
    ...(spec.shardingConfig && { shardingConfig: { ...spec.shardingConfig } }),
    multiTenancyConfig: { ...spec.multiTenancyConfig },
  };
}

const key = (name: string): string => name.toLowerCase();

function canonical(config: AsyncReplicationConfig | undefined): string {
  return JSON.stringify(Object.entries(config ?? {}).sort(([a], [b]) => a.localeCompare(b)));
}

function withDescription(property: PropertyDefinition, description: string | undefined) {
  const others = Object.entries(property).filter(([name]) => name !== 'description');
  const rest = Object.fromEntries(others) as PropertyDefinition;
  return description ? { ...rest, description } : rest;
}

/** Why an existing property cannot become the desired one, or undefined if it can. */
function propertyConflict(
  desired: CollectionProperty,
  current: PropertyDefinition,
): string | undefined {
  const fields = [
    'tokenization',
    'indexFilterable',
    'indexSearchable',
    'indexRangeFilters',
  ] as const;
  const [wantType, haveType] = [desired.dataType[0], current.dataType[0]];
  if (wantType !== haveType) {
    return `property "${current.name}": dataType ${haveType} → ${wantType} (only descriptions can change)`;
  }
  const changed = fields.find((f) => desired[f] !== undefined && desired[f] !== current[f]);
  return changed === undefined
    ? undefined
    : `property "${current.name}": ${changed} ${String(current[changed])} → ${String(desired[changed])} (only descriptions can change)`;
}

interface PropertyPlan {
  readonly properties: SchemaProperty[];
  readonly changed: boolean;
  readonly conflicts: string[];
}

function planProperties(
  desired: readonly CollectionProperty[],
  current: readonly PropertyDefinition[],
): PropertyPlan {
  const desiredByName = new Map(desired.map((p) => [key(p.name), p]));
  const currentNames = new Set(current.map((p) => key(p.name)));
  const conflicts: string[] = [];
  let changed = false;
  const existing = current.map((property) => {
    const wanted = desiredByName.get(key(property.name));
    if (wanted === undefined) {
      conflicts.push(
        `property "${property.name}" is missing from the spec: properties cannot be removed`,
      );
      return property;
    }
    const conflict = propertyConflict(wanted, property);
    if (conflict !== undefined) conflicts.push(conflict);
    if ((wanted.description ?? '') !== (property.description ?? '')) changed = true;
    return withDescription(property, wanted.description);
  });
  const added = desired.filter((p) => !currentNames.has(key(p.name)));
  return { properties: [...existing, ...added], changed: changed || added.length > 0, conflicts };
}

function immutableConflicts(desired: SchemaClass, current: CollectionDefinition): string[] {
  const conflicts: string[] = [];
  const differs = (field: string, have: unknown, want: unknown) => {
    if (want !== undefined && have !== want) {
      conflicts.push(
        `${field} is ${String(have)} in the Cluster, ${String(want)} in the spec (immutable)`,
      );
    }
  };
  differs(
    'replicationConfig.factor',
    current.replicationConfig.factor,
    desired.replicationConfig.factor,
  );
  differs(
    'multiTenancyConfig.enabled',
    current.multiTenancyConfig.enabled,
    desired.multiTenancyConfig.enabled,
  );
  const sharding = desired.shardingConfig;
  if (sharding !== undefined && !desired.multiTenancyConfig.enabled) {
    differs(
      'shardingConfig.desiredCount',
      current.shardingConfig.desiredCount,
      sharding.desiredCount,
    );
    differs(
      'shardingConfig.virtualPerPhysical',
      current.shardingConfig.virtualPerPhysical,
      sharding.virtualPerPhysical,
    );
  }
  return conflicts;
}

/**
 * What `PUT /v1/schema/{class}` must carry to bring `current` (as `GET /v1/schema/{class}`
 * returns it) to the Collection's spec.
 */
export function collectionMutableUpdate(
  collection: Collection,
  current: CollectionDefinition,
  clusterAsyncDefaults: AsyncReplicationConfig = {},
): CollectionUpdatePlan {
  const desired = collectionToSchemaClass(collection, clusterAsyncDefaults);
  const properties = planProperties(collection.spec.properties ?? [], current.properties);
  const { replicationConfig: want, multiTenancyConfig: tenancy } = desired;
  const have = current.replicationConfig;
  const changed =
    properties.changed ||
    (desired.description ?? '') !== (current.description ?? '') ||
    want.deletionStrategy !== have.deletionStrategy ||
    (want.asyncEnabled ?? want.factor > 1) !== have.asyncEnabled ||
    canonical(want.asyncConfig) !== canonical(have.asyncConfig) ||
    tenancy.autoTenantCreation !== current.multiTenancyConfig.autoTenantCreation ||
    tenancy.autoTenantActivation !== current.multiTenancyConfig.autoTenantActivation;
  const body: SchemaClassUpdate | null = changed
    ? {
        class: current.class,
        description: desired.description ?? '',
        properties: properties.properties,
        replicationConfig: {
          deletionStrategy: want.deletionStrategy,
          asyncEnabled: want.asyncEnabled ?? want.factor > 1,
          asyncConfig: want.asyncConfig ?? null,
        },
        multiTenancyConfig: {
          autoTenantCreation: tenancy.autoTenantCreation,
          autoTenantActivation: tenancy.autoTenantActivation,
        },
      }
    : null;
  return { body, conflicts: [...immutableConflicts(desired, current), ...properties.conflicts] };
}
