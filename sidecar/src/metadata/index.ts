/**
 * Cluster metadata: collection definitions, their shard placement and their tenants, replicated
 * with Raft. Everything here is pure and deterministic.
 *
 * How a change flows (the API layer and the Raft driver do the I/O):
 *
 *   1. Leader, validate: `validateNewCollection(body, { nodeCount })`,
 *      `validateCollectionUpdate(current, body)`, `validatePropertyAddition(current, body)`,
 *      `validateTenantsToAdd(body)`, `validateTenantUpdates(body)`,
 *      `validateTenantNamesToDelete(body)` → `{ error }` becomes 422 `{"error":[{"message"}]}`.
 *   2. Leader, place (creation only): `planPlacement(definition, nodes, sm.nodeLoad(), { nonce })`
 *      or `planTenantPlacement(definition, tenants, nodes, sm.nodeLoad())`.
 *   3. Leader, build and pre-check: `commands.createCollection(definition, shardingState)` …,
 *      `sm.precheck(command)` for an early answer, `encodeCommand(command)` → propose.
 *   4. Every node, apply committed entries in order: `sm.applyEntry(index, entry.data)`; the
 *      result of the proposer's entry is the answer (`status` 400 | 404 | 422 on error).
 *   5. Snapshots: `sm.snapshot()` / `MetadataStateMachine.restore(data)`.
 *
 * Data path: `shardForObject(sm.getShardingState(class), uuid)` and
 * `replicasForShard(sm, class, shardOrTenant)`.
 */
export * from './types.js';
export { validateNewCollection, type NewCollectionContext } from './validation.js';
export { validateCollectionUpdate, validatePropertyAddition } from './updates.js';
export { effectiveAsyncConfig, factorExceedsNodesMessage } from './configs.js';
export {
  validateTenantsToAdd,
  validateTenantUpdates,
  validateTenantNamesToDelete,
} from './tenants.js';
export { normalizeClassName } from './names.js';
export {
  planPlacement,
  planTenantPlacement,
  type NodeLoad,
  type PlacementOptions,
} from './placement.js';
export { murmur3x64_128, murmur3x64_64, u64Hex, type U64, type Murmur128 } from './hashing.js';
export {
  shardForObject,
  replicasForShard,
  objectToken,
  virtualShardOf,
  uuidBytes,
  type ShardLookup,
} from './routing.js';
export {
  COMMAND_VERSION,
  commands,
  encodeCommand,
  decodeCommand,
  validateCommand,
  type MetadataCommand,
  type CommandType,
  type CommandCheck,
  type CreateCollectionCommand,
  type UpdateCollectionCommand,
  type DeleteCollectionCommand,
  type AddTenantsCommand,
  type UpdateTenantsCommand,
  type DeleteTenantsCommand,
} from './commands.js';
export {
  MetadataStateMachine,
  type ApplyResult,
  type ApplyErrorStatus,
  type PrecheckResult,
  type CollectionInfo,
} from './state-machine.js';
