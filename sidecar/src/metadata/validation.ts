/**
 * New collections: validation and defaulting (pure). The API layer calls `validateNewCollection`
 * with the request body and turns an `{ error }` into 422 `{"error":[{"message":…}]}`; the state
 * machine normalizes every definition a command or snapshot carries again
 * (`normalizeStoredDefinition`), so what reaches the state is normalized, whoever proposed it.
 * Behaviour follows Weaviate (usecases/schema/class.go, parser.go); sections in configs.ts,
 * properties in properties.ts, updates in updates.ts.
 */
import { capture, fail, isPlainObject } from './invalid.js';
import { canonicalStringify, deepFreeze, toJsonObject } from './json.js';
import {
  normalizeMultiTenancyConfig,
  normalizeReplicationConfig,
  normalizeShardingConfig,
  type NormalizeMode,
} from './configs.js';
import { type Mutable, optionalString } from './fields.js';
import { validateClassName } from './names.js';
import { normalizeProperties } from './properties.js';
import {
  METADATA_LIMITS,
  type CollectionDefinition,
  type JsonObject,
  type Result,
} from './types.js';

export interface NewCollectionContext {
  /** Voters and learners of the cluster: the upper bound of the replication factor. */
  readonly nodeCount: number;
}

/** Weaviate's top-level invertedIndexConfig defaults (setInvertedConfigDefaults); fresh each call. */
const invertedIndexDefaults = (): JsonObject => ({
  bm25: { b: 0.75, k1: 1.2 },
  cleanupIntervalSeconds: 60,
  stopwords: { preset: 'en' },
});

/** The only vectorizer: this store computes no vectors. */
const VECTORIZER_NONE = 'none';
const VECTOR_INDEX_TYPES: readonly string[] = ['hnsw', 'flat'];
const DEFAULT_VECTOR_INDEX_TYPE = 'hnsw';

export function validateNewCollection(
  input: unknown,
  ctx: NewCollectionContext,
): Result<CollectionDefinition> {
  return capture(() =>
    deepFreeze(normalizeCollection(input, { kind: 'create', nodeCount: ctx.nodeCount })),
  );
}

/**
 * A definition carried by a command or a snapshot, normalized again (throws `InvalidInput`).
 * Normalizing is idempotent, so a definition the leader validated comes out unchanged.
 */
export function normalizeStoredDefinition(input: unknown): CollectionDefinition {
  return deepFreeze(normalizeCollection(input, { kind: 'stored' }));
}

/** Normalizes a whole definition (throws `InvalidInput`); see `NormalizeMode`. */
export function normalizeCollection(input: unknown, mode: NormalizeMode): CollectionDefinition {
  if (!isPlainObject(input)) fail('', 'collection definition must be a JSON object');
  const className = validateClassName(input.class, 'class');
  const multiTenancyConfig = normalizeMultiTenancyConfig(input.multiTenancyConfig);
  const definition: Mutable<CollectionDefinition> = {
    class: className,
    properties: normalizeProperties(input.properties, 'properties', className),
    replicationConfig: normalizeReplicationConfig(input.replicationConfig, mode),
    shardingConfig: normalizeShardingConfig(input.shardingConfig, multiTenancyConfig.enabled, mode),
    multiTenancyConfig,
    invertedIndexConfig: normalizeInvertedIndexConfig(input.invertedIndexConfig),
  };
  const replicas = definition.shardingConfig.desiredCount * definition.replicationConfig.factor;
  if (replicas > METADATA_LIMITS.maxReplicasPerCommand) {
    fail(
      'shardingConfig.desiredCount',
      `${definition.shardingConfig.desiredCount} shards × replication factor ` +
        `${definition.replicationConfig.factor} is ${replicas} replicas, more than the limit of ` +
        `${METADATA_LIMITS.maxReplicasPerCommand}`,
    );
  }
  const description = optionalString(input.description, 'description');
  if (description !== undefined) definition.description = description;
  Object.assign(definition, normalizeVectorSettings(input));
  for (const key of ['moduleConfig'] as const) {
    const value = input[key];
    if (value !== undefined && value !== null) {
      definition[key] = toJsonObject(value, key, METADATA_LIMITS.maxOpaqueJsonDepth);
    }
  }
  const bytes = Buffer.byteLength(canonicalStringify(definition), 'utf8');
  if (bytes > METADATA_LIMITS.maxDefinitionBytes) {
    fail(
      '',
      `collection definition of class "${className}" is ${bytes} bytes, more than the limit of ` +
        `${METADATA_LIMITS.maxDefinitionBytes}`,
    );
  }
  return definition;
}

function normalizeInvertedIndexConfig(raw: unknown): JsonObject {
  const field = 'invertedIndexConfig';
  const config =
    raw === undefined || raw === null
      ? {}
      : toJsonObject(raw, field, METADATA_LIMITS.maxOpaqueJsonDepth);
  for (const [key, value] of Object.entries(invertedIndexDefaults())) {
    const current = config[key];
    if (current === undefined || current === null || current === 0) config[key] = value;
  }
  return config;
}

/**
 * The class-level vector settings. There are no vectorizer modules, so `vectorizer` can only be
 * `none`; the index settings are stored for clients to read back. As in Weaviate, a class uses
 * either the class-level ("legacy") vector index or named vectors (`vectorConfig`), not both.
 */
function normalizeVectorSettings(input: Record<string, unknown>): Partial<CollectionDefinition> {
  const depth = METADATA_LIMITS.maxOpaqueJsonDepth;
  const vectorizer = optionalString(input.vectorizer, 'vectorizer');
  const vectorIndexType = optionalString(input.vectorIndexType, 'vectorIndexType');
  const hasIndexConfig = input.vectorIndexConfig !== undefined && input.vectorIndexConfig !== null;
  const vectorConfig =
    input.vectorConfig === undefined || input.vectorConfig === null
      ? undefined
      : toJsonObject(input.vectorConfig, 'vectorConfig', depth);
  const namedVectors = vectorConfig !== undefined && Object.keys(vectorConfig).length > 0;
  const legacyIndex = vectorizer !== undefined || vectorIndexType !== undefined || hasIndexConfig;
  if (namedVectors && legacyIndex) {
    fail(
      'vectorConfig',
      'creating a class with both a class level vector index and named vectors is forbidden',
    );
  }
  if (vectorizer !== undefined && vectorizer !== VECTORIZER_NONE) {
    fail('vectorizer', `vectorizer: no module with name "${vectorizer}" present`);
  }
  if (vectorIndexType !== undefined && !VECTOR_INDEX_TYPES.includes(vectorIndexType)) {
    fail('vectorIndexType', `unrecognized or unsupported vectorIndexType "${vectorIndexType}"`);
  }
  if (namedVectors) return { vectorConfig };
  const settings: Mutable<Partial<CollectionDefinition>> = {
    vectorizer: VECTORIZER_NONE,
    vectorIndexType: vectorIndexType ?? DEFAULT_VECTOR_INDEX_TYPE,
  };
  if (hasIndexConfig) {
    settings.vectorIndexConfig = toJsonObject(input.vectorIndexConfig, 'vectorIndexConfig', depth);
  }
  return settings;
}
