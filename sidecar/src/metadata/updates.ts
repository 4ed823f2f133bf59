/**
 * Collection updates (PUT /v1/schema/{class}, POST /v1/schema/{class}/properties), pure. What may
 * change follows Weaviate (usecases/schema/class.go, parser.go): the description, the deletion
 * strategy and async settings, the auto-tenant flags, property descriptions. Unlike Weaviate,
 * the replication factor is immutable (Weaviate scales it with replica movement, which we do not
 * have), and a class update may add properties (Weaviate requires the properties endpoint;
 * `validatePropertyAddition` serves that one too).
 */
import { capture, child, fail, isPlainObject } from './invalid.js';
import { deepFreeze } from './json.js';
import { sameExceptDescriptions } from './properties.js';
import type { CollectionDefinition, PropertyDefinition, Result } from './types.js';
import { normalizeCollection } from './validation.js';

/**
 * `input` is a PUT body: the desired collection. Top-level fields it leaves out (or sets to null)
 * keep their current values, except `description: null` or `""`, which removes the description;
 * inside `replicationConfig`, `shardingConfig` and `multiTenancyConfig` the same holds per field;
 * `replicationConfig.asyncConfig` is replaced as a whole (null removes it). `properties`, if
 * given, must contain every existing property unchanged but for descriptions, and may add new ones
 * (appended after the existing ones).
 */
export function validateCollectionUpdate(
  existing: CollectionDefinition,
  input: unknown,
): Result<CollectionDefinition> {
  return capture(() => {
    if (!isPlainObject(input)) fail('', 'collection definition must be a JSON object');
    const merged = mergeForUpdate(existing, input);
    // Before normalizing: a toggled class would fail on its sharding config, less clearly.
    const multiTenancy = merged.multiTenancyConfig;
    if (isPlainObject(multiTenancy) && typeof multiTenancy.enabled === 'boolean') {
      checkMultiTenancyUnchanged(existing.multiTenancyConfig.enabled, multiTenancy.enabled);
    }
    const next = normalizeCollection(merged, { kind: 'stored' });
    const ordered = {
      ...next,
      properties: existingOrderFirst(existing.properties, next.properties),
    };
    checkUpdateTransition(existing, ordered);
    return deepFreeze(ordered);
  });
}

/** POST /v1/schema/{class}/properties: one new property appended to the collection. */
export function validatePropertyAddition(
  existing: CollectionDefinition,
  property: unknown,
): Result<CollectionDefinition> {
  return validateCollectionUpdate(existing, { properties: [...existing.properties, property] });
}

/** What may change between two normalized definitions of one collection (throws `InvalidInput`). */
export function checkUpdateTransition(
  existing: CollectionDefinition,
  next: CollectionDefinition,
): void {
  if (next.class !== existing.class) {
    fail(
      'class',
      `class name is immutable: attempted change from "${existing.class}" to "${next.class}"`,
    );
  }
  checkMultiTenancyUnchanged(existing.multiTenancyConfig.enabled, next.multiTenancyConfig.enabled);
  const [oldFactor, newFactor] = [existing.replicationConfig.factor, next.replicationConfig.factor];
  if (newFactor !== oldFactor) {
    fail(
      'replicationConfig.factor',
      `replicationConfig.factor is immutable: attempted change from ${oldFactor} to ${newFactor} ` +
        '(changing the replication factor needs replica movement, which is not supported)',
    );
  }
  const [oldSharding, newSharding] = [existing.shardingConfig, next.shardingConfig];
  if (newSharding.desiredCount !== oldSharding.desiredCount) {
    fail(
      'shardingConfig.desiredCount',
      'validate sharding config: re-sharding not supported yet: shard count ' +
        '(shardingConfig.desiredCount) is immutable: attempted change from ' +
        `"${oldSharding.desiredCount}" to "${newSharding.desiredCount}"`,
    );
  }
  if (newSharding.virtualPerPhysical !== oldSharding.virtualPerPhysical) {
    fail(
      'shardingConfig.virtualPerPhysical',
      'validate sharding config: virtual shards per physical (shardingConfig.virtualPerPhysical) ' +
        `is immutable: attempted change from "${oldSharding.virtualPerPhysical}" to ` +
        `"${newSharding.virtualPerPhysical}"`,
    );
  }
  for (const key of ['vectorizer', 'vectorIndexType'] as const) {
    if (existing[key] !== undefined && next[key] !== existing[key]) {
      const label = key === 'vectorizer' ? 'vectorizer' : 'vector index type';
      fail(
        key,
        `${label} (${key}) is immutable: attempted change from "${existing[key]}" to "${next[key] ?? ''}"`,
      );
    }
  }
  const nextByName = new Map(next.properties.map((p, i) => [p.name.toLowerCase(), { p, i }]));
  for (const property of existing.properties) {
    const match = nextByName.get(property.name.toLowerCase());
    if (!match) {
      fail(
        'properties',
        `property "${property.name}" is missing: properties cannot be removed, only added`,
      );
    }
    if (!sameExceptDescriptions(property, match.p)) {
      fail(
        child('properties', match.i),
        `property "${property.name}": property fields other than description cannot be updated ` +
          'through updating the class',
      );
    }
  }
}

function checkMultiTenancyUnchanged(was: boolean, is: boolean): void {
  if (was !== is) {
    fail(
      'multiTenancyConfig.enabled',
      `${was ? 'disabling' : 'enabling'} multi-tenancy for an existing class is not supported`,
    );
  }
}

const MERGED_SECTIONS: ReadonlySet<string> = new Set([
  'replicationConfig',
  'shardingConfig',
  'multiTenancyConfig',
]);

/** The existing definition with the update's fields laid over it (see validateCollectionUpdate). */
function mergeForUpdate(
  existing: CollectionDefinition,
  input: Record<string, unknown>,
): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...existing };
  for (const [key, value] of Object.entries(input)) {
    if (value === undefined) continue;
    if (MERGED_SECTIONS.has(key)) {
      if (value === null) continue;
      const current = existing[key as keyof CollectionDefinition];
      merged[key] = isPlainObject(value) ? { ...(current as object), ...value } : value;
    } else if (key === 'description' || value !== null) {
      merged[key] = value;
    }
  }
  return merged;
}

/** Existing properties keep their positions; new ones follow in the order given. */
function existingOrderFirst(
  existing: readonly PropertyDefinition[],
  next: readonly PropertyDefinition[],
): PropertyDefinition[] {
  const byName = new Map(next.map((p) => [p.name.toLowerCase(), p]));
  const kept = existing.flatMap((p) => byName.get(p.name.toLowerCase()) ?? []);
  const keptNames = new Set(kept.map((p) => p.name.toLowerCase()));
  return [...kept, ...next.filter((p) => !keptNames.has(p.name.toLowerCase()))];
}
