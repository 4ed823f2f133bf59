import { validateCollectionUpdate } from '../../../../sidecar/src/metadata/updates.js';
import { validateNewCollection } from '../../../../sidecar/src/metadata/validation.js';
import type { CollectionDefinition, Result } from '../../../../sidecar/src/metadata/types.js';
import type { CollectionProperty, CollectionSpec } from '../../../src/api/index.js';
import { collectionMutableUpdate, collectionToSchemaClass } from '../../../src/builders/index.js';
import { aCollection } from '../api/fixtures.js';

function ok<T>(result: Result<T>): T {
  if ('error' in result) throw new Error(`expected ok, got ${JSON.stringify(result.error)}`);
  return result.ok;
}

const TITLE: CollectionProperty = { name: 'title', dataType: ['text'], description: 'Headline' };
const YEAR: CollectionProperty = { name: 'year', dataType: ['int'], indexRangeFilters: true };

/** The class as the Cluster stores it after `POST /v1/schema` with the Collection's body. */
function created(spec: Partial<CollectionSpec>, nodeCount = 3): CollectionDefinition {
  return ok(validateNewCollection(collectionToSchemaClass(aCollection(spec)), { nodeCount }));
}

describe('collectionToSchemaClass', () => {
  it('maps the spec onto the schema API’s class body, defaults filled', () => {
    const body = collectionToSchemaClass(
      aCollection({
        description: 'News',
        properties: [TITLE],
        replicationConfig: { factor: 3, asyncEnabled: true, asyncConfig: { frequency: 60_000 } },
        shardingConfig: { desiredCount: 6 },
      }),
    );
    expect(body).toEqual({
      class: 'Article',
      description: 'News',
      properties: [TITLE],
      replicationConfig: {
        factor: 3,
        deletionStrategy: 'TimeBasedResolution',
        asyncEnabled: true,
        asyncConfig: { frequency: 60_000 },
      },
      shardingConfig: { desiredCount: 6, virtualPerPhysical: 128 },
      multiTenancyConfig: {
        enabled: false,
        autoTenantCreation: false,
        autoTenantActivation: false,
      },
    });
  });

  it('lays the Collection’s asyncConfig over the Cluster’s defaults', () => {
    const body = collectionToSchemaClass(
      aCollection({ replicationConfig: { asyncConfig: { frequency: 60_000 } } }),
      { frequency: 10_000, propagationDelay: 5_000 },
    );
    expect(body.replicationConfig.asyncConfig).toEqual({
      frequency: 60_000,
      propagationDelay: 5_000,
    });
    expect(collectionToSchemaClass(aCollection()).replicationConfig.asyncConfig).toBeUndefined();
  });

  it.each<[string, Partial<CollectionSpec>]>([
    ['minimal', {}],
    [
      'sharded, replicated, async',
      {
        properties: [TITLE, YEAR],
        replicationConfig: { factor: 3, asyncEnabled: true, asyncConfig: { hashtreeHeight: 12 } },
        shardingConfig: { desiredCount: 2, virtualPerPhysical: 64 },
      },
    ],
    ['multi-tenant', { multiTenancyConfig: { enabled: true, autoTenantCreation: true } }],
    [
      'nested properties',
      {
        properties: [
          {
            name: 'address',
            dataType: ['object'],
            nestedProperties: [{ name: 'city', dataType: ['text'] }],
          },
        ],
      },
    ],
  ])('produces a body the sidecar accepts (%s)', (_, spec) => {
    const stored = created(spec);
    expect(stored.class).toBe('Article');
    expect(stored.replicationConfig.factor).toBe(spec.replicationConfig?.factor ?? 1);
    expect(stored.multiTenancyConfig.enabled).toBe(spec.multiTenancyConfig?.enabled ?? false);
  });
});

describe('collectionMutableUpdate', () => {
  const spec: Partial<CollectionSpec> = {
    description: 'News',
    properties: [TITLE],
    replicationConfig: { factor: 2 },
  };

  it('sends nothing when the class matches the spec', () => {
    expect(collectionMutableUpdate(aCollection(spec), created(spec))).toEqual({
      body: null,
      conflicts: [],
    });
  });

  it('updates the mutable fields with a body the sidecar accepts', () => {
    const current = created(spec);
    const desired = aCollection({
      ...spec,
      description: undefined,
      properties: [{ ...TITLE, description: 'Title' }, YEAR],
      replicationConfig: {
        factor: 2,
        deletionStrategy: 'DeleteOnConflict',
        asyncEnabled: true,
        asyncConfig: { frequency: 7_000 },
      },
    });
    const plan = collectionMutableUpdate(desired, current);
    expect(plan.conflicts).toEqual([]);
    expect(plan.body).not.toBeNull();
    const updated = ok(validateCollectionUpdate(current, plan.body));
    expect(updated.description).toBeUndefined();
    expect(updated.properties.map((p) => [p.name, p.description])).toEqual([
      ['title', 'Title'],
      ['year', undefined],
    ]);
    expect(updated.replicationConfig).toEqual({
      factor: 2,
      deletionStrategy: 'DeleteOnConflict',
      asyncEnabled: true,
      asyncConfig: { frequency: 7_000 },
    });
    // Converged: the next plan is empty.
    expect(collectionMutableUpdate(desired, updated)).toEqual({ body: null, conflicts: [] });
  });

  it('removes an asyncConfig the spec no longer has', () => {
    const withAsync = {
      ...spec,
      replicationConfig: { factor: 2, asyncConfig: { frequency: 9_000 } },
    };
    const plan = collectionMutableUpdate(aCollection(spec), created(withAsync));
    expect(plan.body?.replicationConfig.asyncConfig).toBeNull();
    const updated = ok(validateCollectionUpdate(created(withAsync), plan.body));
    expect(updated.replicationConfig.asyncConfig).toBeUndefined();
  });

  it('reports immutable differences as conflicts instead of sending them', () => {
    const current = created({ ...spec, shardingConfig: { desiredCount: 3 } });
    const plan = collectionMutableUpdate(
      aCollection({
        ...spec,
        properties: [{ name: 'title', dataType: ['int'] }],
        replicationConfig: { factor: 3 },
        shardingConfig: { desiredCount: 4 },
      }),
      current,
    );
    expect(plan.conflicts).toEqual([
      'replicationConfig.factor is 2 in the Cluster, 3 in the spec (immutable)',
      'shardingConfig.desiredCount is 3 in the Cluster, 4 in the spec (immutable)',
      'property "title": dataType text → int (only descriptions can change)',
    ]);
  });

  it('reports a property removed from the spec and keeps it in the update', () => {
    const current = created({ ...spec, properties: [TITLE, YEAR] });
    const plan = collectionMutableUpdate(
      aCollection({ ...spec, description: 'Other', properties: [TITLE] }),
      current,
    );
    expect(plan.conflicts).toEqual([
      'property "year" is missing from the spec: properties cannot be removed',
    ]);
    const updated = ok(validateCollectionUpdate(current, plan.body));
    expect(updated.properties.map((p) => p.name)).toEqual(['title', 'year']);
    expect(updated.description).toBe('Other');
  });

  it('matches property names as the sidecar stores them (first letter lowercased)', () => {
    const capitalized = { ...spec, properties: [{ ...TITLE, name: 'Title' }] };
    expect(collectionMutableUpdate(aCollection(capitalized), created(capitalized))).toEqual({
      body: null,
      conflicts: [],
    });
  });
});
