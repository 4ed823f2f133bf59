/**
 * The commands the metadata Raft log carries, their encoding, and their stateless validation.
 *
 * Encoding: canonical JSON (UTF-8, keys sorted) of a versioned discriminated union (`v: 1`).
 * JSON because the payload is already JSON-shaped (definitions echo the REST API, opaque fields
 * included), entries stay readable in the log files when debugging, and canonical key order
 * makes equal commands byte-identical. Commands are small (bounded by METADATA_LIMITS), so
 * msgpack's size advantage does not matter here.
 *
 * Decoding re-validates everything (`validateCommand`): a command is applied on every node and on
 * every replay, and a malformed one must become an error result, never a throw or a corrupt
 * state. Definitions are re-normalized (idempotent for what the leader produced), sharding
 * states and tenant placements are checked against the definition they belong to.
 */
import { InvalidInput, child, fail, isPlainObject, show } from './invalid.js';
import { canonicalStringify, deepFreeze } from './json.js';
import { validateClassName } from './names.js';
import { checkActivityStatus, checkTenantName } from './tenants.js';
import {
  METADATA_LIMITS,
  type CollectionDefinition,
  type ShardingState,
  type ShardPlacement,
  type Tenant,
  type TenantShard,
} from './types.js';
import { normalizeStoredDefinition } from './validation.js';

export const COMMAND_VERSION = 1;

export interface CreateCollectionCommand {
  readonly v: typeof COMMAND_VERSION;
  readonly type: 'createCollection';
  readonly definition: CollectionDefinition;
  /** Computed by the leader (`planPlacement`); empty for multi-tenant collections. */
  readonly shardingState: ShardingState;
}

export interface UpdateCollectionCommand {
  readonly v: typeof COMMAND_VERSION;
  readonly type: 'updateCollection';
  readonly class: string;
  /** The complete new definition (`validateCollectionUpdate`'s result). */
  readonly definition: CollectionDefinition;
}

export interface DeleteCollectionCommand {
  readonly v: typeof COMMAND_VERSION;
  readonly type: 'deleteCollection';
  readonly class: string;
}

export interface AddTenantsCommand {
  readonly v: typeof COMMAND_VERSION;
  readonly type: 'addTenants';
  readonly class: string;
  /** Placed by the leader (`planTenantPlacement`). */
  readonly tenants: readonly TenantShard[];
}

export interface UpdateTenantsCommand {
  readonly v: typeof COMMAND_VERSION;
  readonly type: 'updateTenants';
  readonly class: string;
  readonly tenants: readonly Tenant[];
}

export interface DeleteTenantsCommand {
  readonly v: typeof COMMAND_VERSION;
  readonly type: 'deleteTenants';
  readonly class: string;
  readonly names: readonly string[];
}

export type MetadataCommand =
  | CreateCollectionCommand
  | UpdateCollectionCommand
  | DeleteCollectionCommand
  | AddTenantsCommand
  | UpdateTenantsCommand
  | DeleteTenantsCommand;

export type CommandType = MetadataCommand['type'];

export type CommandCheck = { readonly ok: MetadataCommand } | { readonly error: string };

/** Builders, so callers never spell the version. */
export const commands = {
  createCollection: (
    definition: CollectionDefinition,
    shardingState: ShardingState,
  ): CreateCollectionCommand => ({
    v: COMMAND_VERSION,
    type: 'createCollection',
    definition,
    shardingState,
  }),
  updateCollection: (definition: CollectionDefinition): UpdateCollectionCommand => ({
    v: COMMAND_VERSION,
    type: 'updateCollection',
    class: definition.class,
    definition,
  }),
  deleteCollection: (className: string): DeleteCollectionCommand => ({
    v: COMMAND_VERSION,
    type: 'deleteCollection',
    class: className,
  }),
  addTenants: (className: string, tenants: readonly TenantShard[]): AddTenantsCommand => ({
    v: COMMAND_VERSION,
    type: 'addTenants',
    class: className,
    tenants,
  }),
  updateTenants: (className: string, tenants: readonly Tenant[]): UpdateTenantsCommand => ({
    v: COMMAND_VERSION,
    type: 'updateTenants',
    class: className,
    tenants,
  }),
  deleteTenants: (className: string, names: readonly string[]): DeleteTenantsCommand => ({
    v: COMMAND_VERSION,
    type: 'deleteTenants',
    class: className,
    names,
  }),
};

/** Throws RangeError if the command exceeds the entry size limit (a caller bug: inputs are bounded). */
export function encodeCommand(command: MetadataCommand): Buffer {
  const data = Buffer.from(canonicalStringify(command), 'utf8');
  if (data.length > METADATA_LIMITS.maxCommandBytes) {
    throw new RangeError(
      `${command.type} command is ${data.length} bytes, more than the limit of ${METADATA_LIMITS.maxCommandBytes}`,
    );
  }
  return data;
}

export function decodeCommand(data: Uint8Array): CommandCheck {
  if (data.length > METADATA_LIMITS.maxCommandBytes) {
    return {
      error: `command is ${data.length} bytes, more than the limit of ${METADATA_LIMITS.maxCommandBytes}`,
    };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.length).toString('utf8'));
  } catch (error) {
    return { error: `undecodable command: ${(error as Error).message}` };
  }
  return validateCommand(parsed);
}

/** Structural validation and normalization of a command object (see the module comment). */
export function validateCommand(value: unknown): CommandCheck {
  if (!isPlainObject(value))
    return { error: `a command must be a JSON object (got ${show(value)})` };
  if (value.v !== COMMAND_VERSION) {
    return {
      error: `unsupported command version ${show(value.v)} (this node understands ${COMMAND_VERSION})`,
    };
  }
  const type = value.type;
  const check =
    typeof type === 'string' && Object.hasOwn(CHECKS, type)
      ? CHECKS[type as CommandType]
      : undefined;
  if (!check) return { error: `unknown command type ${show(type)}` };
  try {
    return { ok: deepFreeze(check(value)) };
  } catch (error) {
    if (error instanceof InvalidInput) {
      const where = error.field === '' ? '' : `${error.field}: `;
      return { error: `invalid ${type} command: ${where}${error.message}` };
    }
    throw error;
  }
}

const CHECKS: { readonly [T in CommandType]: (raw: Record<string, unknown>) => MetadataCommand } = {
  createCollection(raw) {
    const definition = withPrefix('definition', () => normalizeStoredDefinition(raw.definition));
    return commands.createCollection(
      definition,
      checkShardingState(raw.shardingState, definition, 'shardingState'),
    );
  },
  updateCollection(raw) {
    const className = validateClassName(raw.class, 'class');
    const definition = withPrefix('definition', () => normalizeStoredDefinition(raw.definition));
    if (definition.class !== className) {
      fail(
        'definition.class',
        `does not match the command's class "${className}" (got "${definition.class}")`,
      );
    }
    return commands.updateCollection(definition);
  },
  deleteCollection(raw) {
    return commands.deleteCollection(validateClassName(raw.class, 'class'));
  },
  addTenants(raw) {
    const tenants = uniqueTenants(
      raw.tenants,
      METADATA_LIMITS.maxTenantsPerCreateCall,
      (item, field) => {
        const shard = checkTenantShard(item, field);
        if (shard.activityStatus === 'OFFLOADED')
          fail(child(field, 'activityStatus'), 'a new tenant cannot be OFFLOADED');
        return shard;
      },
    );
    return commands.addTenants(validateClassName(raw.class, 'class'), tenants);
  },
  updateTenants(raw) {
    const tenants = uniqueTenants(
      raw.tenants,
      METADATA_LIMITS.maxTenantsPerUpdateCall,
      (item, field) => {
        if (!isPlainObject(item)) fail(field, 'must be a JSON object');
        return {
          name: checkTenantName(item.name, child(field, 'name')),
          activityStatus: checkActivityStatus(item.activityStatus, child(field, 'activityStatus')),
        };
      },
    );
    return commands.updateTenants(validateClassName(raw.class, 'class'), tenants);
  },
  deleteTenants(raw) {
    const names = boundedArray(raw.names, 'names', METADATA_LIMITS.maxTenantsPerDeleteCall).map(
      (name, i) => checkTenantName(name, child('names', i)),
    );
    return commands.deleteTenants(validateClassName(raw.class, 'class'), [...new Set(names)]);
  },
};

/** Re-labels an InvalidInput from a nested validator with its position in the command. */
function withPrefix<T>(prefix: string, validate: () => T): T {
  try {
    return validate();
  } catch (error) {
    if (error instanceof InvalidInput)
      throw new InvalidInput(child(prefix, error.field), error.message);
    throw error;
  }
}

function boundedArray(raw: unknown, field: string, limit: number): unknown[] {
  if (!Array.isArray(raw)) fail(field, `must be an array (got ${show(raw)})`);
  if (raw.length > limit) fail(field, `has ${raw.length} entries, more than the limit of ${limit}`);
  return raw;
}

function uniqueTenants<T extends Tenant>(
  raw: unknown,
  limit: number,
  check: (item: unknown, field: string) => T,
): T[] {
  const seen = new Set<string>();
  return boundedArray(raw, 'tenants', limit).map((item, i) => {
    const tenant = check(item, child('tenants', i));
    if (seen.has(tenant.name))
      fail(child(child('tenants', i), 'name'), `tenant "${tenant.name}" appears twice`);
    seen.add(tenant.name);
    return tenant;
  });
}

// ---------------------------------------------------------------------------------------------
// Placement checks, shared with snapshot restore

/** Node names are pod names: DNS labels / subdomains, at most 253 characters. */
const MAX_NODE_NAME_LENGTH = 253;

/** Distinct non-empty node names (a shard's replicas). */
export function checkReplicaNodes(raw: unknown, field: string): string[] {
  if (!Array.isArray(raw) || raw.length === 0)
    fail(field, 'must be a non-empty array of node names');
  for (const [i, node] of raw.entries()) {
    if (typeof node !== 'string' || node === '' || node.length > MAX_NODE_NAME_LENGTH) {
      fail(child(field, i), `must be a node name (got ${show(node)})`);
    }
  }
  if (new Set(raw).size !== raw.length) fail(field, `lists a node twice: ${show(raw)}`);
  return [...(raw as string[])];
}

export function checkTenantShard(raw: unknown, field: string): TenantShard {
  if (!isPlainObject(raw)) fail(field, 'must be a JSON object');
  return {
    name: checkTenantName(raw.name, child(field, 'name')),
    activityStatus: checkActivityStatus(raw.activityStatus, child(field, 'activityStatus')),
    belongsToNodes: checkReplicaNodes(raw.belongsToNodes, child(field, 'belongsToNodes')),
  };
}

/**
 * A sharding state consistent with its definition: `desiredCount` uniquely named shards of
 * `factor` distinct nodes each, `desiredCount × virtualPerPhysical` virtual shards each mapped to
 * an existing physical shard, every physical shard owning at least one; empty if multi-tenant.
 */
export function checkShardingState(
  raw: unknown,
  definition: CollectionDefinition,
  field: string,
): ShardingState {
  if (!isPlainObject(raw)) fail(field, 'must be a JSON object');
  const physicalField = child(field, 'physical');
  const virtualField = child(field, 'virtualToPhysical');
  if (!Array.isArray(raw.physical)) fail(physicalField, 'must be an array');
  if (!Array.isArray(raw.virtualToPhysical)) fail(virtualField, 'must be an array');
  const { desiredCount, virtualPerPhysical } = definition.shardingConfig;
  if (definition.multiTenancyConfig.enabled) {
    if (raw.physical.length > 0 || raw.virtualToPhysical.length > 0) {
      fail(field, 'must be empty for a multi-tenant collection (tenants are its shards)');
    }
    return { physical: [], virtualToPhysical: [] };
  }
  if (raw.physical.length !== desiredCount) {
    fail(
      physicalField,
      `has ${raw.physical.length} shards, the definition's desiredCount is ${desiredCount}`,
    );
  }
  const factor = definition.replicationConfig.factor;
  const names = new Set<string>();
  const physical = raw.physical.map((item: unknown, i): ShardPlacement => {
    const shardField = child(physicalField, i);
    if (!isPlainObject(item)) fail(shardField, 'must be a JSON object');
    const name = checkTenantName(item.name, child(shardField, 'name'));
    if (names.has(name)) fail(child(shardField, 'name'), `shard name "${name}" appears twice`);
    names.add(name);
    const belongsToNodes = checkReplicaNodes(
      item.belongsToNodes,
      child(shardField, 'belongsToNodes'),
    );
    if (belongsToNodes.length !== factor) {
      fail(
        child(shardField, 'belongsToNodes'),
        `has ${belongsToNodes.length} nodes, the replication factor is ${factor}`,
      );
    }
    return { name, belongsToNodes };
  });
  const virtualCount = desiredCount * virtualPerPhysical;
  if (raw.virtualToPhysical.length !== virtualCount) {
    fail(virtualField, `has ${raw.virtualToPhysical.length} entries, expected ${virtualCount}`);
  }
  const owned = new Set<number>();
  const virtualToPhysical = raw.virtualToPhysical.map((shard: unknown, v) => {
    if (
      typeof shard !== 'number' ||
      !Number.isInteger(shard) ||
      shard < 0 ||
      shard >= desiredCount
    ) {
      fail(
        child(virtualField, v),
        `must be a physical shard index in [0, ${desiredCount}) (got ${show(shard)})`,
      );
    }
    owned.add(shard);
    return shard;
  });
  if (owned.size !== desiredCount)
    fail(virtualField, 'leaves a physical shard without virtual shards');
  return { physical, virtualToPhysical };
}
