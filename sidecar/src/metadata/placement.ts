/**
 * Shard placement (pure, deterministic). The Raft leader computes it when a collection or
 * tenant is created and puts the result into the command, so replay never recomputes it
 * (membership and load may differ by then).
 *
 * Replicas: each shard takes the `factor` nodes with the fewest replicas so far (the existing
 * load of the cluster plus what this plan already placed). Starting from equal loads this keeps
 * every node's replica count within one of every other's: a round raises the least-loaded nodes
 * first, so the spread never exceeds 1. Ties are broken by a rotation of the sorted node list
 * that advances per shard (by shard number for hash shards, by a hash of the name for tenants),
 * and the chosen nodes are listed in that rotated order, so the first replica listed is spread
 * too. Equal inputs give equal placements.
 *
 * Shard names: Weaviate draws random 12-character names. Ours are 12 base-62 characters of
 * murmur3 over (lower-cased class name, the caller's `nonce`, shard number): deterministic for
 * equal inputs, valid as tenant-style names and storage keys, and — given a nonce unique per
 * proposal (the leader can pass its next log index) — different for a class re-created after a
 * delete, so a new incarnation never reuses its predecessor's storage keys.
 */
import { murmur3x64_128 } from './hashing.js';
import { capture, fail } from './invalid.js';
import { factorExceedsNodesMessage } from './configs.js';
import {
  METADATA_LIMITS,
  type CollectionDefinition,
  type Result,
  type ShardingState,
  type ShardPlacement,
  type Tenant,
  type TenantShard,
} from './types.js';

export interface PlacementOptions {
  /** Anything unique per proposal; see the module comment. Default ''. */
  readonly nonce?: string;
}

/** Replicas per node: what `planPlacement` balances. */
export type NodeLoad = ReadonlyMap<string, number>;

const SHARD_NAME_LENGTH = 12;
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/**
 * The sharding state of a new collection: `desiredCount` physical shards of `factor` replicas
 * and `desiredCount × virtualPerPhysical` virtual shards dealt round-robin to them. Empty for a
 * multi-tenant collection (tenants are placed as they are added).
 */
export function planPlacement(
  definition: CollectionDefinition,
  nodes: readonly string[],
  existingLoad: NodeLoad,
  options: PlacementOptions = {},
): Result<ShardingState> {
  return capture(() => {
    if (definition.multiTenancyConfig.enabled) return { physical: [], virtualToPhysical: [] };
    const candidates = checkedNodes(nodes, definition.replicationConfig.factor);
    const { desiredCount, virtualPerPhysical } = definition.shardingConfig;
    const names = shardNames(definition.class, desiredCount, options.nonce ?? '');
    const replicas = assignReplicas(
      names.map((_, shard) => shard),
      definition.replicationConfig.factor,
      candidates,
      existingLoad,
    );
    const physical: ShardPlacement[] = names.map((name, i) => ({
      name,
      belongsToNodes: replicas[i]!,
    }));
    // Round-robin: adjacent token ranges land on different shards.
    const virtualToPhysical = Array.from(
      { length: desiredCount * virtualPerPhysical },
      (_, v) => v % desiredCount,
    );
    return { physical, virtualToPhysical };
  });
}

/** Replica nodes for new tenants of a multi-tenant collection, in the order given. */
export function planTenantPlacement(
  definition: CollectionDefinition,
  tenants: readonly Tenant[],
  nodes: readonly string[],
  existingLoad: NodeLoad,
): Result<TenantShard[]> {
  return capture(() => {
    if (!definition.multiTenancyConfig.enabled) {
      fail(
        'multiTenancyConfig.enabled',
        `multi-tenancy is not enabled for class "${definition.class}"`,
      );
    }
    const factor = definition.replicationConfig.factor;
    const total = tenants.length * factor;
    if (total > METADATA_LIMITS.maxReplicasPerCommand) {
      fail(
        'tenants',
        `${tenants.length} tenants × replication factor ${factor} is ${total} replicas, more ` +
          `than the limit of ${METADATA_LIMITS.maxReplicasPerCommand} per request`,
      );
    }
    const candidates = checkedNodes(nodes, factor);
    const rotations = tenants.map(
      (tenant) => murmur3x64_128(Buffer.from(tenant.name, 'utf8')).h1.lo,
    );
    const replicas = assignReplicas(rotations, factor, candidates, existingLoad);
    return tenants.map((tenant, i) => ({ ...tenant, belongsToNodes: replicas[i]! }));
  });
}

/** Replicas per node over a set of shards (what the state machine reports as the load). */
export function countReplicas(
  shards: Iterable<{ readonly belongsToNodes: readonly string[] }>,
): Map<string, number> {
  const load = new Map<string, number>();
  for (const shard of shards) {
    for (const node of shard.belongsToNodes) load.set(node, (load.get(node) ?? 0) + 1);
  }
  return load;
}

function checkedNodes(nodes: readonly string[], factor: number): string[] {
  if (nodes.some((node) => typeof node !== 'string' || node === '')) {
    fail('nodes', 'node names must be non-empty strings');
  }
  const sorted = [...new Set(nodes)].sort();
  if (sorted.length !== nodes.length) fail('nodes', 'node names must be unique');
  if (factor > sorted.length)
    fail('replicationConfig.factor', factorExceedsNodesMessage(factor, sorted.length));
  return sorted;
}

/**
 * For each shard (given by its rotation), the `factor` least-loaded nodes, ties broken by the
 * sorted node order rotated by the shard's rotation; listed in that rotated order.
 */
function assignReplicas(
  rotations: readonly number[],
  factor: number,
  nodes: readonly string[],
  existingLoad: NodeLoad,
): string[][] {
  const load = new Map(nodes.map((node) => [node, existingLoad.get(node) ?? 0]));
  return rotations.map((rotation) => {
    const start = rotation % nodes.length;
    const position = (i: number) => (i - start + nodes.length) % nodes.length;
    const chosen = nodes
      .map((node, i) => ({ node, load: load.get(node)!, order: position(i) }))
      .sort((a, b) => a.load - b.load || a.order - b.order)
      .slice(0, factor)
      // Listed in rotation order, not load order: the first replica then follows the rotation.
      .sort((a, b) => a.order - b.order)
      .map((candidate) => candidate.node);
    for (const node of chosen) load.set(node, load.get(node)! + 1);
    return chosen;
  });
}

/** `count` distinct 12-character base-62 names (see the module comment). */
export function shardNames(className: string, count: number, nonce: string): string[] {
  const names: string[] = [];
  const used = new Set<string>();
  for (let shard = 0; shard < count; shard++) {
    // A collision among 62^12 names is practically impossible; still, resolve it deterministically.
    for (let attempt = 0; ; attempt++) {
      const name = shardName(
        `${className.toLowerCase()}\u0000${nonce}\u0000${shard}\u0000${attempt}`,
      );
      if (!used.has(name)) {
        used.add(name);
        names.push(name);
        break;
      }
    }
  }
  return names;
}

function shardName(seed: string): string {
  const { h1, h2 } = murmur3x64_128(Buffer.from(seed, 'utf8'));
  let value =
    (BigInt(h1.hi) << 96n) | (BigInt(h1.lo) << 64n) | (BigInt(h2.hi) << 32n) | BigInt(h2.lo);
  let name = '';
  for (let i = 0; i < SHARD_NAME_LENGTH; i++) {
    name += BASE62[Number(value % 62n)];
    value /= 62n;
  }
  return name;
}
