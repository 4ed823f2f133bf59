/**
 * Where an object lives: (class, tenant, id) → the shard, its replica nodes and the storage key
 * of the shard replica, decided from this node's applied metadata.
 *
 * The storage key includes the collection's incarnation (the Raft index that created it), so a
 * class deleted and created again under the same name starts from an empty keyspace instead of
 * resurrecting the old objects.
 */
import type { CollectionInfo, MetadataStateMachine } from '../metadata/state-machine.js';
import type {
  CollectionDefinition,
  DeletionStrategy,
  TenantActivityStatus,
} from '../metadata/types.js';
import { replicasForShard, shardForObject } from '../metadata/routing.js';
import { ObjectValidationError } from './object-model.js';

/** The metadata a request was routed with; replicas check theirs is at least as new. */
export interface SchemaStamp {
  readonly class: string;
  /** Raft index that created this incarnation of the collection. */
  readonly createdIndex: number;
  /** Raft index of the last change to the collection (its class version). */
  readonly version: number;
}

export interface ShardTarget {
  readonly collection: CollectionDefinition;
  readonly schema: SchemaStamp;
  /** Physical shard name, or the tenant name in a multi-tenant collection. */
  readonly shard: string;
  readonly tenant?: string;
  /** All replica nodes of the shard, in placement order; length = replication factor. */
  readonly replicas: readonly string[];
  readonly factor: number;
  readonly strategy: DeletionStrategy;
  /** The shard replica's keyspace in the local store. */
  readonly storageKey: string;
}

export function storageKey(schema: SchemaStamp, shard: string): string {
  return `${schema.class}@${schema.createdIndex}/${shard}`;
}

/** 404 for reads of an unknown class (an object that cannot exist), 422 for writes. */
export type MissingClassStatus = 404 | 422;

export function collectionInfo(
  sm: MetadataStateMachine,
  className: unknown,
  missing: MissingClassStatus,
): CollectionInfo {
  if (typeof className !== 'string' || className === '') {
    throw new ObjectValidationError(422, 'class is required');
  }
  const info = sm.getCollectionInfo(className);
  if (!info) throw new ObjectValidationError(missing, `class "${className}" not found in schema`);
  return info;
}

/**
 * The tenant a request names, checked against the collection: required and ACTIVE for a
 * multi-tenant collection, absent otherwise.
 */
export function checkTenant(
  sm: MetadataStateMachine,
  info: CollectionInfo,
  tenant: string | undefined,
): string | undefined {
  const name = info.definition.class;
  if (!info.definition.multiTenancyConfig.enabled) {
    if (tenant !== undefined) {
      throw new ObjectValidationError(
        422,
        `class ${name} has multi-tenancy disabled, but request was with tenant "${tenant}"`,
      );
    }
    return undefined;
  }
  if (tenant === undefined) {
    throw new ObjectValidationError(
      422,
      `class ${name} has multi-tenancy enabled, but request was without tenant`,
    );
  }
  const [found] = sm.getTenants(name, [tenant]) ?? [];
  if (!found)
    throw new ObjectValidationError(422, `tenant not found: "${tenant}" in class ${name}`);
  if (found.activityStatus !== 'ACTIVE') {
    throw new ObjectValidationError(
      422,
      `tenant "${tenant}" of class ${name} is ${found.activityStatus}, not ACTIVE: activate it to read or write its objects`,
    );
  }
  return tenant;
}

function schemaStamp(info: CollectionInfo): SchemaStamp {
  return {
    class: info.definition.class,
    createdIndex: info.createdIndex,
    version: info.version,
  };
}

/** The shard holding `id` (single-tenant) or the tenant's shard (multi-tenant). */
export function targetFor(
  sm: MetadataStateMachine,
  info: CollectionInfo,
  tenant: string | undefined,
  id: string,
): ShardTarget {
  const shard = tenant ?? shardForObject(info.shardingState, id);
  return shardTarget(sm, info, shard, tenant);
}

/** Every shard of a collection (or the one of a tenant): for listing. */
export function allShardTargets(
  sm: MetadataStateMachine,
  info: CollectionInfo,
  tenant: string | undefined,
): ShardTarget[] {
  if (tenant !== undefined) return [shardTarget(sm, info, tenant, tenant)];
  return info.shardingState.physical.map((p) => shardTarget(sm, info, p.name, undefined));
}

function shardTarget(
  sm: MetadataStateMachine,
  info: CollectionInfo,
  shard: string,
  tenant: string | undefined,
): ShardTarget {
  const schema = schemaStamp(info);
  const replicas = replicasForShard(sm, schema.class, shard);
  if (!replicas || replicas.length === 0) {
    throw new Error(`metadata has no replicas for shard ${shard} of ${schema.class}`);
  }
  return {
    collection: info.definition,
    schema,
    shard,
    ...(tenant !== undefined ? { tenant } : {}),
    replicas,
    factor: replicas.length,
    strategy: info.definition.replicationConfig.deletionStrategy,
    storageKey: storageKey(schema, shard),
  };
}

/** One shard (a physical shard, or a tenant) of a collection, where the metadata places it. */
export interface PlacedShard {
  readonly definition: CollectionDefinition;
  readonly schema: SchemaStamp;
  readonly shard: string;
  /** Multi-tenant collections only. */
  readonly tenantStatus?: TenantActivityStatus;
  readonly replicas: readonly string[];
  readonly storageKey: string;
}

/** Every shard of every collection with its replicas: what a node holds, counts and syncs. */
export function placedShards(sm: MetadataStateMachine): PlacedShard[] {
  const out: PlacedShard[] = [];
  for (const definition of sm.listCollections()) {
    const info = sm.getCollectionInfo(definition.class);
    if (!info) continue;
    const schema = schemaStamp(info);
    const shards = definition.multiTenancyConfig.enabled
      ? (sm.getTenants(definition.class) ?? []).map((t) => ({
          shard: t.name,
          tenantStatus: t.activityStatus,
          replicas: sm.getTenantReplicas(definition.class, t.name) ?? [],
        }))
      : info.shardingState.physical.map((p) => ({ shard: p.name, replicas: p.belongsToNodes }));
    for (const placed of shards) {
      out.push({ definition, schema, ...placed, storageKey: storageKey(schema, placed.shard) });
    }
  }
  return out;
}

/** `replicas` with `self` first when it is one: a local call is the cheapest. */
export function selfFirst(replicas: readonly string[], self: string): string[] {
  return replicas.includes(self) ? [self, ...replicas.filter((r) => r !== self)] : [...replicas];
}
