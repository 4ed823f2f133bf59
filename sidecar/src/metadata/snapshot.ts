/**
 * Snapshot encoding of the metadata state: canonical JSON (keys sorted, collections by class
 * name, tenants by name), so equal states give byte-identical snapshots whatever order they were
 * built in. Decoding re-validates everything, as for commands: a snapshot may come from another
 * node, and a restored state must hold the same invariants as one built by applying entries.
 */
import { checkShardingState, checkTenantShard } from './commands.js';
import { InvalidInput, isPlainObject } from './invalid.js';
import { canonicalStringify, deepFreeze, jsonEqual } from './json.js';
import type { CollectionDefinition, ShardingState, TenantShard } from './types.js';
import { normalizeStoredDefinition } from './validation.js';

const SNAPSHOT_FORMAT = 1;

/** One collection in the state machine. */
export interface CollectionRecord {
  readonly definition: CollectionDefinition;
  readonly shardingState: ShardingState;
  /** Empty for single-tenant collections. Mutated in place by committed tenant commands. */
  readonly tenants: Map<string, TenantShard>;
  readonly createdIndex: number;
  version: number;
}

/** Code-unit order: locale-independent, so every node sorts alike. */
export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function byName(a: { readonly name: string }, b: { readonly name: string }): number {
  return compareNames(a.name, b.name);
}

export function sortedTenants(record: CollectionRecord): TenantShard[] {
  return [...record.tenants.values()].sort(byName);
}

/** `records` must be sorted by class name (the state machine hands them out that way). */
export function encodeSnapshot(version: number, records: readonly CollectionRecord[]): Buffer {
  const collections = records.map((record) => ({
    definition: record.definition,
    shardingState: record.shardingState,
    tenants: sortedTenants(record),
    createdIndex: record.createdIndex,
    version: record.version,
  }));
  return Buffer.from(canonicalStringify({ format: SNAPSHOT_FORMAT, version, collections }), 'utf8');
}

/** Throws an Error naming the problem if `data` is not a snapshot this code would have written. */
export function decodeSnapshot(data: Uint8Array): { version: number; records: CollectionRecord[] } {
  try {
    const parsed: unknown = JSON.parse(
      Buffer.from(data.buffer, data.byteOffset, data.length).toString('utf8'),
    );
    if (!isPlainObject(parsed) || parsed.format !== SNAPSHOT_FORMAT) {
      throw new InvalidInput(
        'format',
        `unsupported snapshot format (this node reads ${SNAPSHOT_FORMAT})`,
      );
    }
    const version = snapshotIndex(parsed.version, 'version', 0);
    if (!Array.isArray(parsed.collections))
      throw new InvalidInput('collections', 'must be an array');
    const seen = new Set<string>();
    const records = parsed.collections.map((raw: unknown, i) => {
      const record = restoreRecord(raw, `collections[${i}]`, version);
      const key = record.definition.class.toLowerCase();
      if (seen.has(key)) throw new InvalidInput(`collections[${i}]`, 'duplicate class name');
      seen.add(key);
      return record;
    });
    return { version, records };
  } catch (error) {
    if (error instanceof InvalidInput) {
      throw new Error(`invalid metadata snapshot: ${error.field}: ${error.message}`, {
        cause: error,
      });
    }
    if (error instanceof SyntaxError) {
      throw new Error(`invalid metadata snapshot: ${error.message}`, { cause: error });
    }
    throw error;
  }
}

function restoreRecord(raw: unknown, field: string, maxIndex: number): CollectionRecord {
  if (!isPlainObject(raw)) throw new InvalidInput(field, 'must be a JSON object');
  const definition = normalizeStoredDefinition(raw.definition);
  if (!jsonEqual(definition, raw.definition))
    throw new InvalidInput(`${field}.definition`, 'is not normalized');
  const shardingState = deepFreeze(
    checkShardingState(raw.shardingState, definition, `${field}.shardingState`),
  );
  if (!Array.isArray(raw.tenants)) throw new InvalidInput(`${field}.tenants`, 'must be an array');
  const tenants = new Map<string, TenantShard>();
  for (const [i, item] of raw.tenants.entries()) {
    const tenant = deepFreeze(checkTenantShard(item, `${field}.tenants[${i}]`));
    if (tenants.has(tenant.name))
      throw new InvalidInput(`${field}.tenants[${i}]`, 'duplicate tenant');
    tenants.set(tenant.name, tenant);
  }
  const version = snapshotIndex(raw.version, `${field}.version`, 1, maxIndex);
  const createdIndex = snapshotIndex(raw.createdIndex, `${field}.createdIndex`, 1, version);
  return { definition, shardingState, tenants, createdIndex, version };
}

function snapshotIndex(
  raw: unknown,
  field: string,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (typeof raw !== 'number' || !Number.isSafeInteger(raw) || raw < min || raw > max) {
    throw new InvalidInput(field, `must be an integer in [${min}, ${max}]`);
  }
  return raw;
}
