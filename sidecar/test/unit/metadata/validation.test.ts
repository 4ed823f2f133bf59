/**
 * Collection validation: every rule rejects with a message naming the field, defaults are filled
 * exactly as documented, normalizing is idempotent, and updates change only what may change.
 */
import { jsonEqual } from '../../../src/metadata/json.js';
import { ASYNC_CONFIG_FIELDS, METADATA_LIMITS } from '../../../src/metadata/types.js';
import type { AsyncConfigField, CollectionDefinition } from '../../../src/metadata/types.js';
import { effectiveAsyncConfig } from '../../../src/metadata/configs.js';
import {
  validateCollectionUpdate,
  validatePropertyAddition,
} from '../../../src/metadata/updates.js';
import {
  normalizeStoredDefinition,
  validateNewCollection,
} from '../../../src/metadata/validation.js';
import { collection, err, ok } from './fixtures.js';

const create = (body: Record<string, unknown>, nodeCount = 3) =>
  validateNewCollection({ class: 'Article', ...body }, { nodeCount });

const text = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  dataType: ['text'],
  ...extra,
});

describe('validateNewCollection: defaults', () => {
  it('fills every default exactly (Weaviate’s shapes)', () => {
    expect(ok(create({}))).toEqual({
      class: 'Article',
      properties: [],
      replicationConfig: {
        factor: 1,
        asyncEnabled: false,
        deletionStrategy: 'TimeBasedResolution',
      },
      shardingConfig: {
        virtualPerPhysical: 128,
        desiredCount: 3,
        actualCount: 3,
        desiredVirtualCount: 384,
        actualVirtualCount: 384,
        key: '_id',
        strategy: 'hash',
        function: 'murmur3',
      },
      multiTenancyConfig: {
        enabled: false,
        autoTenantCreation: false,
        autoTenantActivation: false,
      },
      invertedIndexConfig: {
        bm25: { b: 0.75, k1: 1.2 },
        cleanupIntervalSeconds: 60,
        stopwords: { preset: 'en' },
      },
      vectorizer: 'none',
      vectorIndexType: 'hnsw',
    });
  });

  it('gives multi-tenant collections an empty sharding config', () => {
    const definition = ok(
      create({ multiTenancyConfig: { enabled: true, autoTenantCreation: true } }),
    );
    expect(definition.shardingConfig).toEqual({
      virtualPerPhysical: 0,
      desiredCount: 0,
      actualCount: 0,
      desiredVirtualCount: 0,
      actualVirtualCount: 0,
      key: '',
      strategy: '',
      function: '',
    });
    expect(definition.multiTenancyConfig).toEqual({
      enabled: true,
      autoTenantCreation: true,
      autoTenantActivation: false,
    });
  });

  it('fills property defaults per data type', () => {
    const { properties } = ok(
      create({
        properties: [
          text('Title'),
          { name: 'count', dataType: ['int'] },
          { name: 'legacy', dataType: ['string'] },
          { name: 'exact', dataType: ['string[]'], tokenization: 'field' },
          { name: 'old', dataType: ['text'], indexInverted: false },
          {
            name: 'address',
            dataType: ['object'],
            nestedProperties: [text('street'), { name: 'photo', dataType: ['blob'] }],
          },
        ],
      }),
    );
    expect(properties).toEqual([
      {
        name: 'title',
        dataType: ['text'],
        tokenization: 'word',
        indexFilterable: true,
        indexSearchable: true,
        indexRangeFilters: false,
      },
      {
        name: 'count',
        dataType: ['int'],
        indexFilterable: true,
        indexSearchable: false,
        indexRangeFilters: false,
      },
      {
        name: 'legacy',
        dataType: ['text'],
        tokenization: 'whitespace',
        indexFilterable: true,
        indexSearchable: true,
        indexRangeFilters: false,
      },
      {
        name: 'exact',
        dataType: ['text[]'],
        tokenization: 'field',
        indexFilterable: true,
        indexSearchable: true,
        indexRangeFilters: false,
      },
      {
        name: 'old',
        dataType: ['text'],
        tokenization: 'word',
        indexFilterable: false,
        indexSearchable: false,
        indexRangeFilters: false,
      },
      {
        name: 'address',
        dataType: ['object'],
        indexFilterable: true,
        indexSearchable: false,
        indexRangeFilters: false,
        nestedProperties: [
          {
            name: 'street',
            dataType: ['text'],
            tokenization: 'word',
            indexFilterable: true,
            indexSearchable: true,
            indexRangeFilters: false,
          },
          {
            name: 'photo',
            dataType: ['blob'],
            indexFilterable: false,
            indexSearchable: false,
            indexRangeFilters: false,
          },
        ],
      },
    ]);
  });

  it('normalizes names like Weaviate and drops unknown fields', () => {
    const definition = ok(
      create({ class: 'article', description: '', unknownField: 1, properties: [text('Body')] }),
    );
    expect(definition.class).toBe('Article');
    expect(definition.properties[0]!.name).toBe('body');
    expect(definition).not.toHaveProperty('description');
    expect(definition).not.toHaveProperty('unknownField');
  });

  it('keeps given values and opaque settings verbatim', () => {
    const definition = ok(
      create({
        description: 'news',
        replicationConfig: {
          factor: 3,
          asyncEnabled: true,
          deletionStrategy: 'DeleteOnConflict',
          asyncConfig: { frequency: 60_000, maxWorkers: 3 },
        },
        shardingConfig: { desiredCount: 2, virtualPerPhysical: 16, actualCount: 99 },
        invertedIndexConfig: { bm25: { b: 0.5, k1: 1 }, indexTimestamps: true },
        vectorIndexConfig: { distance: 'cosine', ef: -1 },
        moduleConfig: { 'generative-x': { model: 'm' } },
      }),
    );
    expect(definition.description).toBe('news');
    expect(definition.replicationConfig).toEqual({
      factor: 3,
      asyncEnabled: true,
      deletionStrategy: 'DeleteOnConflict',
      asyncConfig: { frequency: 60_000 }, // pre-1.38 maxWorkers is dropped, as Weaviate does
    });
    expect(definition.shardingConfig).toMatchObject({
      desiredCount: 2,
      actualCount: 2,
      desiredVirtualCount: 32,
    });
    expect(definition.invertedIndexConfig).toEqual({
      bm25: { b: 0.5, k1: 1 },
      indexTimestamps: true,
      cleanupIntervalSeconds: 60,
      stopwords: { preset: 'en' },
    });
    expect(definition.vectorIndexConfig).toEqual({ distance: 'cosine', ef: -1 });
    expect(definition.moduleConfig).toEqual({ 'generative-x': { model: 'm' } });
  });

  it('uses named vectors instead of the class-level index when vectorConfig is given', () => {
    const definition = ok(create({ vectorConfig: { title: { vectorIndexType: 'hnsw' } } }));
    expect(definition.vectorConfig).toEqual({ title: { vectorIndexType: 'hnsw' } });
    expect(definition).not.toHaveProperty('vectorizer');
    expect(definition).not.toHaveProperty('vectorIndexType');
  });

  it('treats factor 0 as unset (1) and returns frozen definitions', () => {
    const definition = ok(create({ replicationConfig: { factor: 0 } }));
    expect(definition.replicationConfig.factor).toBe(1);
    expect(Object.isFrozen(definition.replicationConfig)).toBe(true);
  });

  it('is idempotent: normalizing a normalized definition changes nothing', () => {
    for (const body of [
      {},
      { multiTenancyConfig: { enabled: true } },
      { properties: [text('a'), { name: 'b', dataType: ['string'] }], vectorConfig: { v: {} } },
      { replicationConfig: { factor: 2, asyncConfig: { hashtreeHeight: 0 } }, description: 'd' },
    ]) {
      const definition = ok(create(body));
      expect(jsonEqual(normalizeStoredDefinition(definition), definition)).toBe(true);
      expect(normalizeStoredDefinition(JSON.parse(JSON.stringify(definition)))).toEqual(definition);
    }
  });
});

describe('validateNewCollection: rejections name the field', () => {
  const long = (n: number, first = 'A') => first + 'a'.repeat(n - 1);
  const deep = (levels: number): unknown => (levels === 0 ? 1 : { nested: deep(levels - 1) });
  const nestedObject = (levels: number): Record<string, unknown> =>
    levels === 0
      ? text('leaf')
      : {
          name: `level${levels}`,
          dataType: ['object'],
          nestedProperties: [nestedObject(levels - 1)],
        };

  it.each<[string, Record<string, unknown>, string, string]>([
    ['body not an object', { __replace: [] }, '', 'must be a JSON object'],
    ['missing class', { class: undefined }, 'class', "'' is not a valid class name"],
    ['class not a string', { class: 5 }, 'class', 'class must be a string'],
    ['class with a dash', { class: 'Foo-Bar' }, 'class', "'Foo-Bar' is not a valid class name"],
    ['class starting with a digit', { class: '1Foo' }, 'class', 'not a valid class name'],
    ['non-ASCII first letter', { class: 'ßeta' }, 'class', 'not a valid class name'],
    ['class too long', { class: long(256) }, 'class', 'should not be longer than 255 characters'],
    ['reserved class name', { class: 'raft' }, 'class', 'class name `raft` is reserved'],
    ['description not a string', { description: 3 }, 'description', 'description must be a string'],
    ['properties not an array', { properties: {} }, 'properties', 'properties must be an array'],
    ['property not an object', { properties: ['x'] }, 'properties[0]', 'must be a JSON object'],
    [
      'property name invalid',
      { properties: [text('1st')] },
      'properties[0].name',
      "'1st' is not a valid property name",
    ],
    [
      'property name too long',
      { properties: [text(long(232, 'a'))] },
      'properties[0].name',
      'longer than 231',
    ],
    [
      'reserved property id',
      { properties: [text('id')] },
      'properties[0].name',
      "'id' is a reserved property name",
    ],
    [
      'reserved _additional',
      { properties: [text('_additional')] },
      'properties[0].name',
      'reserved',
    ],
    [
      'duplicate property, other case',
      { properties: [text('title'), text('Title')] },
      'properties[1].name',
      'class "Article": conflict for property "title": already in use or provided multiple times',
    ],
    [
      'dataType missing',
      { properties: [{ name: 'a' }] },
      'properties[0].dataType',
      "property 'a': invalid dataType",
    ],
    [
      'unknown dataType',
      { properties: [{ name: 'a', dataType: ['float'] }] },
      'properties[0].dataType',
      'unknown data type "float"',
    ],
    [
      'cross-reference',
      { properties: [{ name: 'a', dataType: ['Author'] }] },
      'properties[0].dataType',
      'cross-references are not supported',
    ],
    [
      'two dataTypes',
      { properties: [{ name: 'a', dataType: ['text', 'int'] }] },
      'properties[0].dataType',
      'exactly one data type',
    ],
    [
      'tokenization unknown',
      { properties: [text('a', { tokenization: 'gse' })] },
      'properties[0].tokenization',
      "tokenization 'gse' is not allowed",
    ],
    [
      'tokenization on int',
      { properties: [{ name: 'a', dataType: ['int'], tokenization: 'word' }] },
      'properties[0].tokenization',
      "not allowed for data type 'int'",
    ],
    [
      'tokenization on object',
      {
        properties: [
          { name: 'a', dataType: ['object'], tokenization: 'word', nestedProperties: [text('b')] },
        ],
      },
      'properties[0].tokenization',
      'not allowed for object/object[] data types',
    ],
    [
      'string tokenization',
      { properties: [{ name: 'a', dataType: ['string'], tokenization: 'trigram' }] },
      'properties[0].tokenization',
      "not allowed for data type 'string'",
    ],
    [
      'indexSearchable on int',
      { properties: [{ name: 'a', dataType: ['int'], indexSearchable: true }] },
      'properties[0].indexSearchable',
      '`indexSearchable` is allowed only for text/text[]',
    ],
    [
      'indexRangeFilters on text',
      { properties: [text('a', { indexRangeFilters: true })] },
      'properties[0].indexRangeFilters',
      '`indexRangeFilters` is allowed only for number/int/date',
    ],
    [
      'indexRangeFilters on int[]',
      { properties: [{ name: 'a', dataType: ['int[]'], indexRangeFilters: true }] },
      'properties[0].indexRangeFilters',
      'number/int/date',
    ],
    [
      'indexInverted with new flags',
      { properties: [text('a', { indexInverted: true, indexFilterable: true })] },
      'properties[0].indexInverted',
      '`indexInverted` is deprecated',
    ],
    [
      'index flag not boolean',
      { properties: [text('a', { indexFilterable: 'yes' })] },
      'properties[0].indexFilterable',
      'indexFilterable must be a boolean',
    ],
    [
      'object without nested',
      { properties: [{ name: 'a', dataType: ['object[]'] }] },
      'properties[0].nestedProperties',
      'At least one nested property is required',
    ],
    [
      'nested on text',
      { properties: [text('a', { nestedProperties: [text('b')] })] },
      'properties[0].nestedProperties',
      'nestedProperties not allowed',
    ],
    [
      'nested name invalid',
      { properties: [{ name: 'a', dataType: ['object'], nestedProperties: [text('b-c')] }] },
      'properties[0].nestedProperties[0].name',
      "'b-c' is not a valid nested property name of 'a'",
    ],
    [
      'nested string type',
      {
        properties: [
          {
            name: 'a',
            dataType: ['object'],
            nestedProperties: [{ name: 'b', dataType: ['string'] }],
          },
        ],
      },
      'properties[0].nestedProperties[0].dataType',
      "data type 'string' is deprecated and not allowed as nested property",
    ],
    [
      'nested blob filterable',
      {
        properties: [
          {
            name: 'a',
            dataType: ['object'],
            nestedProperties: [{ name: 'b', dataType: ['blob'], indexFilterable: true }],
          },
        ],
      },
      'properties[0].nestedProperties[0].indexFilterable',
      "property 'a.b': indexFilterable is not allowed for blob data type",
    ],
    [
      'nesting too deep',
      { properties: [nestedObject(9)] },
      expect.stringContaining('nestedProperties') as unknown as string,
      'deeper than the limit of 8',
    ],
    [
      'property moduleConfig not an object',
      { properties: [text('a', { moduleConfig: 'x' })] },
      'properties[0].moduleConfig',
      'must be a JSON object',
    ],
    [
      'replicationConfig not an object',
      { replicationConfig: 3 },
      'replicationConfig',
      'must be a JSON object',
    ],
    [
      'negative factor',
      { replicationConfig: { factor: -1 } },
      'replicationConfig.factor',
      'must be a positive integer',
    ],
    [
      'fractional factor',
      { replicationConfig: { factor: 1.5 } },
      'replicationConfig.factor',
      'must be a positive integer',
    ],
    [
      'factor as text',
      { replicationConfig: { factor: '2' } },
      'replicationConfig.factor',
      'must be a positive integer',
    ],
    [
      'deletion strategy',
      { replicationConfig: { deletionStrategy: 'LastWins' } },
      'replicationConfig.deletionStrategy',
      'invalid value "LastWins"',
    ],
    [
      'asyncEnabled not boolean',
      { replicationConfig: { asyncEnabled: 1 } },
      'replicationConfig.asyncEnabled',
      'must be a boolean',
    ],
    [
      'asyncConfig not object',
      { replicationConfig: { asyncConfig: [] } },
      'replicationConfig.asyncConfig',
      'must be a JSON object',
    ],
    [
      'asyncConfig not integer',
      { replicationConfig: { asyncConfig: { diffBatchSize: 1.5 } } },
      'replicationConfig.asyncConfig.diffBatchSize',
      'must be an integer',
    ],
    [
      'shardingConfig with multi-tenancy',
      { multiTenancyConfig: { enabled: true }, shardingConfig: {} },
      'shardingConfig',
      'cannot have both shardingConfig and multiTenancyConfig',
    ],
    [
      'desiredCount 0',
      { shardingConfig: { desiredCount: 0 } },
      'shardingConfig.desiredCount',
      'value 0 out of range: min 1',
    ],
    [
      'desiredCount too big',
      { shardingConfig: { desiredCount: 1025 } },
      'shardingConfig.desiredCount',
      'max 1024',
    ],
    [
      'virtualPerPhysical 0',
      { shardingConfig: { virtualPerPhysical: 0 } },
      'shardingConfig.virtualPerPhysical',
      'out of range',
    ],
    [
      'too many virtual shards',
      { shardingConfig: { desiredCount: 1024 } },
      'shardingConfig.virtualPerPhysical',
      'more than the limit of 65536',
    ],
    [
      'sharding key',
      { shardingConfig: { key: 'title' } },
      'shardingConfig.key',
      "sharding only supported with key '_id' for now, got: title",
    ],
    [
      'sharding strategy',
      { shardingConfig: { strategy: 'range' } },
      'shardingConfig.strategy',
      "strategy 'hash'",
    ],
    [
      'sharding function',
      { shardingConfig: { function: 'xxhash' } },
      'shardingConfig.function',
      "function 'murmur3'",
    ],
    [
      'auto creation without MT',
      { multiTenancyConfig: { autoTenantCreation: true } },
      'multiTenancyConfig.autoTenantCreation',
      "can't enable autoTenantCreation on a non-multi-tenant class",
    ],
    [
      'auto activation without MT',
      { multiTenancyConfig: { autoTenantActivation: true } },
      'multiTenancyConfig.autoTenantActivation',
      'non-multi-tenant',
    ],
    [
      'MT flag not boolean',
      { multiTenancyConfig: { enabled: 'true' } },
      'multiTenancyConfig.enabled',
      'must be a boolean',
    ],
    [
      'vectorizer module',
      { vectorizer: 'text2vec-openai' },
      'vectorizer',
      'vectorizer: no module with name "text2vec-openai" present',
    ],
    [
      'vector index type',
      { vectorIndexType: 'ivf' },
      'vectorIndexType',
      'unrecognized or unsupported vectorIndexType "ivf"',
    ],
    [
      'both vector kinds',
      { vectorizer: 'none', vectorConfig: { v: {} } },
      'vectorConfig',
      'both a class level vector index and named vectors',
    ],
    [
      'opaque not JSON data',
      { moduleConfig: { x: Number.NaN } },
      'moduleConfig.x',
      'must be a finite number',
    ],
    [
      'opaque too deep',
      { moduleConfig: deep(40) as Record<string, unknown> },
      expect.stringContaining('moduleConfig') as unknown as string,
      'deeper than the limit of 32',
    ],
    [
      'definition too large',
      { moduleConfig: { blob: 'x'.repeat(300_000) } },
      '',
      'more than the limit of 262144',
    ],
  ])('%s', (_label, body, field, message) => {
    const input = '__replace' in body ? body.__replace : { class: 'Article', ...body };
    const error = err(validateNewCollection(input, { nodeCount: 3 }));
    expect(error.field).toEqual(field);
    expect(error.message).toContain(message);
  });

  it('rejects a factor above the node count, naming both', () => {
    const error = err(create({ replicationConfig: { factor: 4 } }, 3));
    expect(error.field).toBe('replicationConfig.factor');
    expect(error.message).toBe(
      'invalid replicationConfig.factor 4: the cluster has only 3 nodes and every replica of a ' +
        'shard needs its own node (not enough storage replicas: found 3 want 4)',
    );
    expect(ok(create({ replicationConfig: { factor: 3 } }, 3)).replicationConfig.factor).toBe(3);
  });

  it('keeps messages short whatever the client sent', () => {
    for (const body of [
      { class: 'A'.repeat(100_000) },
      { class: 'a-'.repeat(50_000) },
      { properties: [text('-'.repeat(100_000))] },
      { properties: [{ name: 'a', dataType: ['x'.repeat(100_000)] }] },
    ]) {
      expect(err(create(body)).message.length).toBeLessThan(400);
    }
  });

  it('limits the replicas a creation places (shards × factor)', () => {
    const body = {
      replicationConfig: { factor: 9 },
      shardingConfig: { desiredCount: 1000, virtualPerPhysical: 1 },
    };
    const error = err(create(body, 9));
    expect(error.field).toBe('shardingConfig.desiredCount');
    expect(error.message).toBe(
      '1000 shards × replication factor 9 is 9000 replicas, more than the limit of 8192',
    );
  });

  it('limits the number of properties', () => {
    const properties = Array.from(
      { length: METADATA_LIMITS.maxPropertiesPerCollection + 1 },
      (_, i) => text(`p${i}`),
    );
    expect(err(create({ properties })).message).toContain('more than the limit of 1000');
  });

  describe('asyncConfig bounds (reference §4)', () => {
    const cases = (
      Object.entries(ASYNC_CONFIG_FIELDS) as [
        AsyncConfigField,
        (typeof ASYNC_CONFIG_FIELDS)['frequency'],
      ][]
    ).flatMap(
      ([name, spec]) =>
        [
          [name, spec.min, true],
          [name, spec.max, true],
          [name, spec.min - 1, false],
          [name, spec.max + 1, false],
        ] as [AsyncConfigField, number, boolean][],
    );
    it.each(cases)('%s = %d accepted: %s', (name, value, accepted) => {
      const result = create({ replicationConfig: { asyncConfig: { [name]: value } } });
      if (accepted) {
        expect(ok(result).replicationConfig.asyncConfig).toEqual({ [name]: value });
      } else {
        const error = err(result);
        expect(error.field).toBe(`replicationConfig.asyncConfig.${name}`);
        expect(error.message).toContain(`value ${value} out of range`);
      }
    });
  });
});

describe('effectiveAsyncConfig', () => {
  it('node override > 0 beats the collection, which beats the default', () => {
    const definition = collection({
      replicationConfig: { asyncConfig: { frequency: 10_000, diffBatchSize: 50 } },
    });
    const effective = effectiveAsyncConfig(definition, { frequency: 7_000, diffBatchSize: 0 });
    expect(effective.frequency).toBe(7_000);
    expect(effective.diffBatchSize).toBe(50);
    expect(effective.propagationLimit).toBe(1_000);
    expect(effective.hashtreeHeight).toBe(16);
    expect(
      effectiveAsyncConfig(collection({ multiTenancyConfig: { enabled: true } })).hashtreeHeight,
    ).toBe(10);
  });
});

describe('validateCollectionUpdate', () => {
  const base = (): CollectionDefinition =>
    collection({
      description: 'news',
      properties: [
        text('title'),
        { name: 'meta', dataType: ['object'], nestedProperties: [text('source')] },
      ],
      replicationConfig: { factor: 2, asyncConfig: { frequency: 60_000 } },
      shardingConfig: { desiredCount: 2 },
    });
  /** A client's PUT: what GET returned, changed. */
  const roundTrip = (definition: CollectionDefinition) =>
    JSON.parse(JSON.stringify(definition)) as Record<string, unknown>;

  it('accepts what GET returned, unchanged', () => {
    const existing = base();
    expect(ok(validateCollectionUpdate(existing, roundTrip(existing)))).toEqual(existing);
    const mt = collection({ multiTenancyConfig: { enabled: true } });
    expect(ok(validateCollectionUpdate(mt, roundTrip(mt)))).toEqual(mt);
  });

  it('keeps omitted fields and changes the mutable ones', () => {
    const existing = base();
    const updated = ok(
      validateCollectionUpdate(existing, {
        class: 'article', // normalized, so not a change
        replicationConfig: { deletionStrategy: 'NoAutomatedResolution', asyncEnabled: true },
      }),
    );
    expect(updated.replicationConfig).toEqual({
      factor: 2,
      asyncEnabled: true,
      deletionStrategy: 'NoAutomatedResolution',
      asyncConfig: { frequency: 60_000 },
    });
    expect(updated.description).toBe('news');
    expect(updated.properties).toEqual(existing.properties);
    const removed = ok(
      validateCollectionUpdate(existing, {
        description: null,
        replicationConfig: { asyncConfig: null },
      }),
    );
    expect(removed).not.toHaveProperty('description');
    expect(removed.replicationConfig).not.toHaveProperty('asyncConfig');
    const replaced = ok(
      validateCollectionUpdate(existing, {
        replicationConfig: { asyncConfig: { propagationLimit: 5 } },
      }),
    );
    expect(replaced.replicationConfig.asyncConfig).toEqual({ propagationLimit: 5 });
  });

  it('adds properties after the existing ones and allows description changes', () => {
    const existing = base();
    const [title, meta] = existing.properties;
    const changedMeta = {
      ...meta!,
      description: 'about',
      nestedProperties: [{ ...meta!.nestedProperties![0]!, description: 'where' }],
    };
    const updated = ok(
      validateCollectionUpdate(existing, {
        properties: [text('body'), changedMeta, { ...title!, description: 'the title' }],
      }),
    );
    expect(updated.properties.map((p) => [p.name, p.description])).toEqual([
      ['title', 'the title'],
      ['meta', 'about'],
      ['body', undefined],
    ]);
    expect(updated.properties[1]!.nestedProperties![0]!.description).toBe('where');
  });

  it('toggles the auto-tenant flags of a multi-tenant collection', () => {
    const mt = collection({ multiTenancyConfig: { enabled: true } });
    const updated = ok(
      validateCollectionUpdate(mt, {
        multiTenancyConfig: { autoTenantCreation: true, autoTenantActivation: true },
      }),
    );
    expect(updated.multiTenancyConfig).toEqual({
      enabled: true,
      autoTenantCreation: true,
      autoTenantActivation: true,
    });
  });

  it.each<[string, (existing: CollectionDefinition) => unknown, string, string]>([
    ['not an object', () => 'x', '', 'must be a JSON object'],
    [
      'class renamed',
      () => ({ class: 'Story' }),
      'class',
      'class name is immutable: attempted change from "Article" to "Story"',
    ],
    [
      'factor',
      () => ({ replicationConfig: { factor: 3 } }),
      'replicationConfig.factor',
      'replicationConfig.factor is immutable: attempted change from 2 to 3',
    ],
    [
      'desiredCount',
      () => ({ shardingConfig: { desiredCount: 3 } }),
      'shardingConfig.desiredCount',
      'shard count (shardingConfig.desiredCount) is immutable: attempted change from "2" to "3"',
    ],
    [
      'virtualPerPhysical',
      () => ({ shardingConfig: { virtualPerPhysical: 64 } }),
      'shardingConfig.virtualPerPhysical',
      'is immutable',
    ],
    [
      'enabling multi-tenancy',
      () => ({ multiTenancyConfig: { enabled: true } }),
      'multiTenancyConfig.enabled',
      'enabling multi-tenancy for an existing class is not supported',
    ],
    [
      'auto flag on single-tenant',
      () => ({ multiTenancyConfig: { autoTenantCreation: true } }),
      'multiTenancyConfig.autoTenantCreation',
      'non-multi-tenant',
    ],
    [
      'vectorizer',
      () => ({ vectorIndexType: 'flat' }),
      'vectorIndexType',
      'vector index type (vectorIndexType) is immutable: attempted change from "hnsw" to "flat"',
    ],
    [
      'property removed',
      (e) => ({ properties: [e.properties[0]] }),
      'properties',
      'property "meta" is missing: properties cannot be removed, only added',
    ],
    [
      'property changed',
      (e) => ({ properties: [{ ...e.properties[0]!, tokenization: 'field' }, e.properties[1]] }),
      'properties[0]',
      'property "title": property fields other than description cannot be updated through updating the class',
    ],
    [
      'nested property changed',
      (e) => ({
        properties: [e.properties[0], { ...e.properties[1]!, nestedProperties: [text('other')] }],
      }),
      'properties[1]',
      'property "meta": property fields other than description',
    ],
    [
      'added property invalid',
      (e) => ({ properties: [...e.properties, text('id')] }),
      'properties[2].name',
      'reserved',
    ],
    [
      'asyncConfig out of range',
      () => ({ replicationConfig: { asyncConfig: { frequency: 10 } } }),
      'replicationConfig.asyncConfig.frequency',
      'out of range',
    ],
  ])('rejects: %s', (_label, change, field, message) => {
    const existing = base();
    const error = err(validateCollectionUpdate(existing, change(existing)));
    expect(error.field).toBe(field);
    expect(error.message).toContain(message);
  });

  it('rejects disabling multi-tenancy', () => {
    const mt = collection({ multiTenancyConfig: { enabled: true } });
    expect(
      err(validateCollectionUpdate(mt, { multiTenancyConfig: { enabled: false } })).message,
    ).toBe('disabling multi-tenancy for an existing class is not supported');
  });
});

describe('validatePropertyAddition', () => {
  it('appends one property', () => {
    const existing = collection({ properties: [text('title')] });
    const updated = ok(validatePropertyAddition(existing, { name: 'Views', dataType: ['int'] }));
    expect(updated.properties.map((p) => p.name)).toEqual(['title', 'views']);
  });

  it('refuses a name already in use (ignoring case)', () => {
    const existing = collection({ properties: [text('title')] });
    expect(err(validatePropertyAddition(existing, text('TITLE'))).message).toBe(
      'class "Article": conflict for property "tITLE": already in use or provided multiple times',
    );
  });
});
