/**
 * Object → shard → replica nodes, for the data path.
 *
 * An object's token is murmur3 x64_128's first 64 bits over the 16 raw bytes of its UUID
 * (exactly Weaviate's token). Virtual shard `v` of `V` owns the tokens in
 * [v·2^64/V, (v+1)·2^64/V): equal ranges, so the virtual shard is ⌊token·V / 2^64⌋, and
 * `virtualToPhysical[v]` names its physical shard. The ranges are a pure function of V; the
 * virtual→physical map is stored in Raft so a future rebalancer can move virtual shards without
 * changing how objects hash.
 */
import { murmur3x64_64, type U64 } from './hashing.js';
import type { ShardingState } from './types.js';

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const TWO_POW_32 = 2 ** 32;

/** The 16 bytes of a UUID written 8-4-4-4-12 (either case), or undefined. */
export function uuidBytes(uuid: string): Buffer | undefined {
  if (!UUID.test(uuid)) return undefined;
  return Buffer.from(uuid.replaceAll('-', ''), 'hex');
}

/** Reused by `objectToken`: the data path hashes every object id, so it does not allocate. */
const scratch = new Uint8Array(16);

/** The 64-bit sharding token of an object id; throws RangeError for a malformed UUID. */
export function objectToken(uuid: string): U64 {
  if (!UUID.test(uuid)) throw new RangeError(`not a UUID: ${JSON.stringify(uuid).slice(0, 60)}`);
  for (let byte = 0, i = 0; byte < 16; byte++) {
    if (uuid.charCodeAt(i) === 0x2d) i++; // '-'
    scratch[byte] = (hexValue(uuid.charCodeAt(i)) << 4) | hexValue(uuid.charCodeAt(i + 1));
    i += 2;
  }
  return murmur3x64_64(scratch);
}

/** Value of an ASCII hex digit (the caller has checked it is one). */
function hexValue(code: number): number {
  return code <= 0x39 ? code - 0x30 : (code | 0x20) - 0x57;
}

/**
 * ⌊token·V / 2^64⌋, exactly, in doubles: with V ≤ 2^16 every intermediate is below 2^53.
 * (token·V)/2^64 = (hi·V + lo·V/2^32)/2^32, and the floor is unchanged if lo·V/2^32 is floored
 * first, because hi·V is an integer.
 */
export function virtualShardOf(token: U64, virtualCount: number): number {
  if (!Number.isInteger(virtualCount) || virtualCount < 1 || virtualCount > 2 ** 16) {
    throw new RangeError(
      `virtual shard count must be an integer in [1, 65536], got ${virtualCount}`,
    );
  }
  const scaled = token.hi * virtualCount + Math.floor((token.lo * virtualCount) / TWO_POW_32);
  return Math.floor(scaled / TWO_POW_32);
}

/**
 * The physical shard holding object `uuid` in a single-tenant collection. Throws for a
 * multi-tenant collection's state (no shards: the tenant is the shard) or a malformed UUID.
 */
export function shardForObject(state: ShardingState, uuid: string): string {
  const virtualCount = state.virtualToPhysical.length;
  if (virtualCount === 0) {
    throw new RangeError(
      'this sharding state has no shards (a multi-tenant collection: the tenant is the shard)',
    );
  }
  const virtual = virtualShardOf(objectToken(uuid), virtualCount);
  const shard = state.physical[state.virtualToPhysical[virtual]!];
  if (!shard)
    throw new Error(`broken sharding state: virtual shard ${virtual} maps to no physical shard`);
  return shard.name;
}

/** What `replicasForShard` needs from the metadata (the state machine implements it). */
export interface ShardLookup {
  getShardingState(className: string): ShardingState | undefined;
  /** The replica nodes of a tenant of a multi-tenant collection. */
  getTenantReplicas(className: string, tenant: string): readonly string[] | undefined;
}

/**
 * The replica nodes of a shard of a single-tenant collection, or of a tenant of a multi-tenant
 * one; undefined if the collection, shard or tenant does not exist.
 */
export function replicasForShard(
  metadata: ShardLookup,
  className: string,
  shardOrTenant: string,
): readonly string[] | undefined {
  const state = metadata.getShardingState(className);
  if (!state) return undefined;
  if (state.physical.length === 0) return metadata.getTenantReplicas(className, shardOrTenant);
  return state.physical.find((shard) => shard.name === shardOrTenant)?.belongsToNodes;
}
