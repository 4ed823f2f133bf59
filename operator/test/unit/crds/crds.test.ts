/**
 * The CRD files against the code: one source of truth for defaults, bounds and enums, and the
 * conventions every CRD of ours follows (subresources, printer columns, immutability rules).
 */
import {
  ASYNC_CONFIG_FIELDS,
  DATA_TYPES,
  DELETION_STRATEGIES,
  METADATA_LIMITS,
  TOKENIZATIONS,
} from '../../../../sidecar/src/metadata/types.js';
import {
  ANTI_AFFINITY_MODES,
  APPENDFSYNC_POLICIES,
  CLUSTER_KIND,
  CLUSTER_PLURAL,
  COLLECTION_KIND,
  COLLECTION_PLURAL,
  DELETION_POLICIES,
  GROUP,
  LOG_LEVELS,
  PULL_POLICIES,
  RETRIEVAL_STRATEGIES,
  SERVICE_TYPES,
  VERSION,
  VOTER_COUNTS,
  withClusterSchemaDefaults,
  withCollectionSchemaDefaults,
  type ClusterSpec,
  type CollectionSpec,
} from '../../../src/api/index.js';
import {
  applyDefaults,
  loadCrd,
  rootSchema,
  schemaAt,
  skeleton,
  walk,
  type Crd,
  type Schema,
} from './crd-schema.js';

const clusters = loadCrd('quorumstore.dev_clusters.yaml');
const collections = loadCrd('quorumstore.dev_collections.yaml');
const clusterSchema = rootSchema(clusters);
const collectionSchema = rootSchema(collections);

const rulesAt = (schema: Schema) => (schema['x-kubernetes-validations'] ?? []).map((v) => v.rule);

describe.each<[string, Crd, string, string, string]>([
  ['Cluster', clusters, CLUSTER_KIND, CLUSTER_PLURAL, 'qsc'],
  ['Collection', collections, COLLECTION_KIND, COLLECTION_PLURAL, 'qscol'],
])('%s CRD conventions', (_, crd, kind, plural, shortName) => {
  const schema = rootSchema(crd);

  it('names the kind as the code does', () => {
    expect(crd.apiVersion).toBe('apiextensions.k8s.io/v1');
    expect(crd.metadata.name).toBe(`${plural}.${GROUP}`);
    expect(crd.spec.group).toBe(GROUP);
    expect(crd.spec.scope).toBe('Namespaced');
    expect(crd.spec.names).toMatchObject({
      kind,
      plural,
      shortNames: [shortName],
      categories: ['quorumstore'],
    });
    expect(crd.spec.versions.map((v) => [v.name, v.served, v.storage])).toEqual([
      [VERSION, true, true],
    ]);
  });

  it('has a status subresource with observedGeneration and conditions', () => {
    expect(crd.spec.versions[0]?.subresources?.status).toEqual({});
    expect(schemaAt(schema, 'status.observedGeneration').type).toBe('integer');
    const conditions = schemaAt(schema, 'status.conditions');
    expect(conditions.items?.required).toEqual(
      expect.arrayContaining(['type', 'status', 'lastTransitionTime', 'reason', 'message']),
    );
  });

  it('has printer columns over fields that exist', () => {
    const columns = crd.spec.versions[0]?.additionalPrinterColumns ?? [];
    expect(columns.map((c) => c.name)).toContain('Age');
    for (const column of columns) {
      const path = column.jsonPath.replace(/^\./, '').replace(/\[\?.*$/, '');
      if (path.startsWith('metadata.')) continue;
      expect(() => schemaAt(schema, path)).not.toThrow();
    }
  });

  it('is a structural schema: every node typed', () => {
    for (const [path, node] of walk(schema)) {
      if (node['x-kubernetes-int-or-string']) {
        expect(node.anyOf?.map((s) => s.type)).toEqual(['integer', 'string']);
        continue;
      }
      expect([path, node.type]).toEqual([path, expect.any(String)]);
      if (node['x-kubernetes-preserve-unknown-fields']) expect(node.type).toBe('object');
    }
  });

  it('has defaults of the right type, inside their bounds and enums', () => {
    for (const [path, node] of walk(schema)) {
      if (node.default === undefined) continue;
      const value = node.default;
      if (node.enum) expect([path, node.enum]).toEqual([path, expect.arrayContaining([value])]);
      if (typeof value === 'number') {
        expect(value).toBeGreaterThanOrEqual(node.minimum ?? -Infinity);
        expect(value).toBeLessThanOrEqual(node.maximum ?? Infinity);
      }
      const type = node['x-kubernetes-int-or-string'] ? typeof value : node.type;
      expect([path, typeof value]).toEqual([path, type === 'integer' ? 'number' : type]);
    }
  });
});

describe('Cluster CRD', () => {
  it('scales through spec.nodes with the pod selector in status', () => {
    expect(clusters.spec.versions[0]?.subresources?.scale).toEqual({
      specReplicasPath: '.spec.nodes',
      statusReplicasPath: '.status.nodes',
      labelSelectorPath: '.status.selector',
    });
    expect(schemaAt(clusterSchema, 'status.selector').type).toBe('string');
  });

  it.each<[string, ClusterSpec | undefined]>([
    ['no spec', undefined],
    ['an empty spec', {}],
    [
      'a partial spec',
      { nodes: 5, sidecar: { logLevel: 'debug' }, auth: { redisPasswordRef: { name: 'r' } } },
    ],
    ['every section present', skeleton(schemaAt(clusterSchema, 'spec')) as ClusterSpec],
  ])('defaults in the CRD equal withClusterSchemaDefaults (%s)', (_, spec) => {
    const byApiServer = applyDefaults(clusterSchema, spec === undefined ? {} : { spec }) as {
      spec: unknown;
    };
    expect(withClusterSchemaDefaults(spec)).toEqual(byApiServer.spec);
  });

  it('keeps images, voters and cluster id out of the schema defaults (the operator fills them)', () => {
    for (const path of [
      'spec.sidecar.image',
      'spec.redis.image',
      'spec.raft.voters',
      'spec.clusterId',
    ]) {
      expect([path, schemaAt(clusterSchema, path).default]).toEqual([path, undefined]);
    }
  });

  it('bounds voters to odd counts up to RAFT_BOOTSTRAP_EXPECT’s maximum, and by nodes', () => {
    const voters = schemaAt(clusterSchema, 'spec.raft.voters');
    expect([voters.minimum, voters.maximum]).toEqual([VOTER_COUNTS[0], VOTER_COUNTS.at(-1)]);
    expect(rulesAt(voters)).toContain('self % 2 == 1');
    expect(rulesAt(schemaAt(clusterSchema, 'spec')).join('\n')).toMatch(
      /self\.raft\.voters <= self\.nodes/,
    );
  });

  it('records the founding voter count in the status, within RAFT_BOOTSTRAP_EXPECT’s bounds', () => {
    const recorded = schemaAt(clusterSchema, 'status.raft.bootstrapVoters');
    expect(recorded.type).toBe('integer');
    expect([recorded.minimum, recorded.maximum]).toEqual([VOTER_COUNTS[0], VOTER_COUNTS.at(-1)]);
  });

  it('limits the Cluster name so every derived name is valid', () => {
    expect(rulesAt(clusterSchema).join('\n')).toMatch(/size\(self\.metadata\.name\) <= 52/);
  });

  it.each<[string, readonly unknown[]]>([
    ['spec.sidecar.imagePullPolicy', PULL_POLICIES],
    ['spec.redis.imagePullPolicy', PULL_POLICIES],
    ['spec.sidecar.logLevel', LOG_LEVELS],
    ['spec.redis.appendfsync', APPENDFSYNC_POLICIES],
    ['spec.raft.collectionRetrievalStrategy', RETRIEVAL_STRATEGIES],
    ['spec.scheduling.podAntiAffinity', ANTI_AFFINITY_MODES],
    ['spec.service.type', SERVICE_TYPES],
  ])('enum %s matches the code', (path, values) => {
    expect(schemaAt(clusterSchema, path).enum).toEqual([...values]);
  });
});

describe('Collection CRD', () => {
  it.each<[string, CollectionSpec]>([
    ['a minimal spec', { clusterRef: { name: 'qs' }, className: 'A' }],
    [
      'a partial spec',
      {
        clusterRef: { name: 'qs' },
        className: 'A',
        replicationConfig: { factor: 3 },
        shardingConfig: { desiredCount: 2 },
      },
    ],
    [
      'every section present',
      skeleton(schemaAt(collectionSchema, 'spec')) as unknown as CollectionSpec,
    ],
  ])('defaults in the CRD equal withCollectionSchemaDefaults (%s)', (_, spec) => {
    const byApiServer = applyDefaults(collectionSchema, { spec }) as { spec: unknown };
    expect(withCollectionSchemaDefaults(spec)).toEqual(byApiServer.spec);
  });

  it.each<[string, readonly unknown[]]>([
    ['spec.replicationConfig.deletionStrategy', DELETION_STRATEGIES],
    ['spec.deletionPolicy', DELETION_POLICIES],
    ['spec.properties', DATA_TYPES],
    ['spec.properties', TOKENIZATIONS],
  ])('enum at %s matches the sidecar', (path, values) => {
    const node = schemaAt(collectionSchema, path);
    const enums = node.items
      ? [node.items.properties?.dataType?.items?.enum, node.items.properties?.tokenization?.enum]
      : [node.enum];
    expect(enums).toContainEqual([...values]);
  });

  it('uses the sidecar’s limits', () => {
    const at = (path: string) => schemaAt(collectionSchema, path);
    expect(at('spec.className').maxLength).toBe(METADATA_LIMITS.maxClassNameLength);
    expect(at('spec.properties').maxItems).toBe(METADATA_LIMITS.maxPropertiesPerCollection);
    expect(at('spec.properties').items?.properties?.name?.maxLength).toBe(
      METADATA_LIMITS.maxPropertyNameLength,
    );
    expect(at('spec.shardingConfig.desiredCount').maximum).toBe(METADATA_LIMITS.maxDesiredCount);
    expect(at('spec.shardingConfig.virtualPerPhysical').maximum).toBe(
      METADATA_LIMITS.maxVirtualPerPhysical,
    );
    const specRules = rulesAt(at('spec')).join('\n');
    expect(specRules).toContain(`<= ${METADATA_LIMITS.maxReplicasPerCommand}`);
    expect(rulesAt(at('spec.shardingConfig')).join('\n')).toContain(
      `<= ${METADATA_LIMITS.maxVirtualShards}`,
    );
  });

  it('factor cannot exceed the largest Cluster', () => {
    expect(schemaAt(collectionSchema, 'spec.replicationConfig.factor').maximum).toBe(
      schemaAt(clusterSchema, 'spec.nodes').maximum,
    );
  });
});

describe.each<[string, Schema, string]>([
  ['Cluster spec.asyncReplication', clusterSchema, 'spec.asyncReplication'],
  [
    'Collection spec.replicationConfig.asyncConfig',
    collectionSchema,
    'spec.replicationConfig.asyncConfig',
  ],
])('%s', (_, schema, path) => {
  it('has exactly the sidecar’s asyncConfig fields and bounds', () => {
    const fields = schemaAt(schema, path).properties ?? {};
    expect(Object.keys(fields).sort()).toEqual(Object.keys(ASYNC_CONFIG_FIELDS).sort());
    for (const [name, spec] of Object.entries(ASYNC_CONFIG_FIELDS)) {
      expect([name, fields[name]?.minimum, fields[name]?.maximum]).toEqual([
        name,
        spec.min,
        spec.max,
      ]);
    }
  });
});

describe('immutability (transition rules)', () => {
  it.each<[string, string, Schema]>([
    ['Cluster', 'spec.clusterId', clusterSchema],
    ['Cluster', 'spec.storage.storageClassName', clusterSchema],
    ['Collection', 'spec.clusterRef', collectionSchema],
    ['Collection', 'spec.className', collectionSchema],
    ['Collection', 'spec.replicationConfig.factor', collectionSchema],
    ['Collection', 'spec.multiTenancyConfig.enabled', collectionSchema],
    ['Collection', 'spec.shardingConfig.desiredCount', collectionSchema],
    ['Collection', 'spec.shardingConfig.virtualPerPhysical', collectionSchema],
  ])('%s %s cannot change', (_, path, schema) => {
    const node = schemaAt(schema, path);
    expect(rulesAt(node)).toContain('self == oldSelf');
    const message = node['x-kubernetes-validations']?.find(
      (v) => v.rule === 'self == oldSelf',
    )?.message;
    expect(message).toContain(path);
  });

  it.each<[string, string, string, Schema]>([
    ['Cluster', 'spec', 'clusterId', clusterSchema],
    ['Cluster', 'spec.storage', 'storageClassName', clusterSchema],
    ['Collection', 'spec', 'shardingConfig', collectionSchema],
    ['Collection', 'spec.shardingConfig', 'desiredCount', collectionSchema],
  ])(
    '%s %s.%s cannot be added or removed (transition rules skip an absent side)',
    (_, parent, field, schema) => {
      expect(rulesAt(schemaAt(schema, parent))).toContain(
        `has(self.${field}) == has(oldSelf.${field})`,
      );
    },
  );

  it('names the field of every rule on an object, in the message or as fieldPath', () => {
    // A rule on a scalar is reported at that field already.
    for (const schema of [clusterSchema, collectionSchema]) {
      for (const [path, node] of walk(schema)) {
        for (const { message, fieldPath, rule } of node['x-kubernetes-validations'] ?? []) {
          const named =
            node.type !== 'object' ||
            fieldPath !== undefined ||
            /\b(spec|metadata)\.\w+/.test(message ?? '');
          expect([path, rule, named]).toEqual([path, rule, true]);
        }
      }
    }
  });
});
