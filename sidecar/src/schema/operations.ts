/**
 * Schema changes as the API receives them, turned into metadata commands by the leader — the
 * only node that decides placement, so replaying the log never recomputes it. Pure: given the
 * state machine and the membership, the same operation always yields the same command or error.
 */
import {
  commands,
  planPlacement,
  planTenantPlacement,
  validateCollectionUpdate,
  validateNewCollection,
  validatePropertyAddition,
  validateTenantNamesToDelete,
  validateTenantUpdates,
  validateTenantsToAdd,
  type MetadataCommand,
  type MetadataStateMachine,
} from '../metadata/index.js';

export type SchemaOperation =
  | { readonly op: 'createCollection'; readonly body: unknown }
  | { readonly op: 'updateCollection'; readonly class: string; readonly body: unknown }
  | { readonly op: 'addProperty'; readonly class: string; readonly body: unknown }
  | { readonly op: 'deleteCollection'; readonly class: string }
  | { readonly op: 'addTenants'; readonly class: string; readonly body: unknown }
  | { readonly op: 'updateTenants'; readonly class: string; readonly body: unknown }
  | { readonly op: 'deleteTenants'; readonly class: string; readonly body: unknown };

export interface OperationError {
  readonly status: number;
  readonly message: string;
}

export type BuiltCommand =
  { readonly command: MetadataCommand } | { readonly error: OperationError };

const OPS = new Set([
  'createCollection',
  'updateCollection',
  'addProperty',
  'deleteCollection',
  'addTenants',
  'updateTenants',
  'deleteTenants',
]);

/** Checks the shape of an operation received from a peer (it crossed a process boundary). */
export function isSchemaOperation(value: unknown): value is SchemaOperation {
  const v = value as { op?: unknown; class?: unknown } | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.op === 'string' &&
    OPS.has(v.op) &&
    (v.op === 'createCollection' || typeof v.class === 'string')
  );
}

/**
 * @param members every node of the cluster (voters and learners), for placement
 * @param nonce unique per proposal (placement tie-breaks; see planPlacement)
 */
export function buildCommand(
  operation: SchemaOperation,
  sm: MetadataStateMachine,
  members: readonly string[],
  nonce: string,
): BuiltCommand {
  const nodes = [...members].sort();
  const invalid = (message: string): BuiltCommand => ({ error: { status: 422, message } });
  const notFound = (name: string): BuiltCommand => ({
    error: { status: 404, message: `class "${name}" not found` },
  });

  switch (operation.op) {
    case 'createCollection': {
      const checked = validateNewCollection(operation.body, { nodeCount: nodes.length });
      if ('error' in checked) return invalid(checked.error.message);
      // Multi-tenant collections get no shards here: each tenant is placed when it is added.
      const placement = planPlacement(checked.ok, nodes, sm.nodeLoad(), { nonce });
      if ('error' in placement) return invalid(placement.error.message);
      return { command: commands.createCollection(checked.ok, placement.ok) };
    }
    case 'updateCollection':
    case 'addProperty': {
      const existing = sm.getCollection(operation.class);
      if (!existing) return notFound(operation.class);
      const checked =
        operation.op === 'updateCollection'
          ? validateCollectionUpdate(existing, operation.body)
          : validatePropertyAddition(existing, operation.body);
      if ('error' in checked) return invalid(checked.error.message);
      return { command: commands.updateCollection(checked.ok) };
    }
    case 'deleteCollection':
      return { command: commands.deleteCollection(operation.class) };
    case 'addTenants': {
      const existing = sm.getCollection(operation.class);
      if (!existing) return notFound(operation.class);
      const checked = validateTenantsToAdd(operation.body);
      if ('error' in checked) return invalid(checked.error.message);
      const placed = planTenantPlacement(existing, checked.ok, nodes, sm.nodeLoad());
      if ('error' in placed) return invalid(placed.error.message);
      return { command: commands.addTenants(existing.class, placed.ok) };
    }
    case 'updateTenants': {
      const checked = validateTenantUpdates(operation.body);
      if ('error' in checked) return invalid(checked.error.message);
      return { command: commands.updateTenants(operation.class, checked.ok) };
    }
    case 'deleteTenants': {
      const checked = validateTenantNamesToDelete(operation.body);
      if ('error' in checked) return invalid(checked.error.message);
      return { command: commands.deleteTenants(operation.class, checked.ok) };
    }
  }
}
