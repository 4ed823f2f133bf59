/**
 * The state machine: apply sequences, conflicts re-checked at apply time, tenants lifecycle,
 * malformed input, snapshots.
 */
import { commands, encodeCommand, type MetadataCommand } from '../../../src/metadata/commands.js';
import { planPlacement, planTenantPlacement } from '../../../src/metadata/placement.js';
import { replicasForShard, shardForObject } from '../../../src/metadata/routing.js';
import { MetadataStateMachine, type ApplyResult } from '../../../src/metadata/state-machine.js';
import { METADATA_LIMITS, type Tenant } from '../../../src/metadata/types.js';
import { validateCollectionUpdate } from '../../../src/metadata/updates.js';
import { collection, nodeNames, ok } from './fixtures.js';

const nodes = nodeNames(3);

/** Parsed snapshot JSON that the tests corrupt along arbitrary paths. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type LooseJson = any;

/** A state machine with a driver's view: the next index, and leader-side command builders. */
class Harness {
  readonly sm = new MetadataStateMachine();
  index = 0;

  apply(command: MetadataCommand): ApplyResult {
    return this.sm.apply(++this.index, command);
  }

  createCommand(body: Record<string, unknown>): MetadataCommand {
    const definition = collection(body);
    const state = ok(
      planPlacement(definition, nodes, this.sm.nodeLoad(), { nonce: String(this.index + 1) }),
    );
    return commands.createCollection(definition, state);
  }

  create(body: Record<string, unknown>): ApplyResult {
    return this.apply(this.createCommand(body));
  }

  addTenants(className: string, tenants: Tenant[]): ApplyResult {
    const definition = this.sm.getCollection(className)!;
    return this.apply(
      commands.addTenants(
        className,
        ok(planTenantPlacement(definition, tenants, nodes, this.sm.nodeLoad())),
      ),
    );
  }
}

const active = (...names: string[]): Tenant[] =>
  names.map((name) => ({ name, activityStatus: 'ACTIVE' }));
const MT = { class: 'Mt', replicationConfig: { factor: 2 }, multiTenancyConfig: { enabled: true } };

describe('collections', () => {
  it('creates, reads, lists, versions', () => {
    const h = new Harness();
    expect(h.sm.version).toBe(0);
    expect(h.create({ class: 'Book', replicationConfig: { factor: 2 } })).toEqual({
      ok: true,
      index: 1,
      changed: true,
    });
    expect(h.create({ class: 'Article' })).toMatchObject({ ok: true, index: 2 });
    expect(h.sm.version).toBe(2);
    expect(h.sm.listCollections().map((d) => d.class)).toEqual(['Article', 'Book']);
    expect(h.sm.getCollection('book')?.replicationConfig.factor).toBe(2); // first letter is upper-cased
    expect(h.sm.getCollection('BOOK')).toBeUndefined(); // then matched exactly, as Weaviate does
    expect(h.sm.getCollectionInfo('Book')).toMatchObject({
      createdIndex: 1,
      version: 1,
      tenantCount: 0,
    });
    const shards = h.sm.getShards('Book')!;
    expect(shards).toHaveLength(3);
    expect(h.sm.nodeLoad()).toEqual(new Map(nodes.map((node) => [node, 3]))); // 3×2 + 3×1 replicas
    h.sm.checkInvariants();
  });

  it('rejects the second of two conflicting creates, changing nothing but the version', () => {
    const h = new Harness();
    // Both validated by the leader against the same (empty) state, then committed in order.
    const first = h.createCommand({ class: 'Article' });
    const second = h.createCommand({ class: 'Article', description: 'other' });
    const permutation = h.createCommand({ class: 'ARTICLE' });
    expect(h.apply(first).ok).toBe(true);
    const before = h.sm.getCollection('Article');
    expect(h.apply(second)).toEqual({
      ok: false,
      index: 2,
      status: 422,
      message: 'class name "Article" already exists',
    });
    expect(h.apply(permutation)).toEqual({
      ok: false,
      index: 3,
      status: 422,
      message:
        'class name "ARTICLE" already exists as a permutation of: "Article". class names must be unique when lowercased',
    });
    expect(h.sm.getCollection('Article')).toBe(before);
    expect(h.sm.version).toBe(3);
  });

  it('updates, and re-checks the transition at apply time', () => {
    const h = new Harness();
    h.create({ class: 'Article', properties: [{ name: 'title', dataType: ['text'] }] });
    const base = h.sm.getCollection('Article')!;
    // Two clients add a property each, both starting from the same definition.
    const addBody = ok(
      validateCollectionUpdate(base, {
        properties: [...base.properties, { name: 'body', dataType: ['text'] }],
      }),
    );
    const addViews = ok(
      validateCollectionUpdate(base, {
        properties: [...base.properties, { name: 'views', dataType: ['int'] }],
      }),
    );
    expect(h.apply(commands.updateCollection(addBody))).toEqual({
      ok: true,
      index: 2,
      changed: true,
    });
    expect(h.apply(commands.updateCollection(addViews))).toEqual({
      ok: false,
      index: 3,
      status: 422,
      message: 'property "body" is missing: properties cannot be removed, only added',
    });
    expect(h.sm.getCollection('Article')!.properties.map((p) => p.name)).toEqual(['title', 'body']);
    expect(h.sm.getCollectionInfo('Article')).toMatchObject({ createdIndex: 1, version: 2 });
    // An identical update is accepted and changes nothing.
    expect(h.apply(commands.updateCollection(addBody))).toEqual({
      ok: true,
      index: 4,
      changed: false,
    });
    expect(h.sm.getCollectionInfo('Article')?.version).toBe(2);
    // An immutable field changed behind the API's back is still refused.
    const factor3 = { ...addBody, replicationConfig: { ...addBody.replicationConfig, factor: 3 } };
    expect(h.apply(commands.updateCollection(factor3))).toMatchObject({
      ok: false,
      status: 422,
      message: expect.stringContaining('immutable'),
    });
    expect(h.apply(commands.updateCollection({ ...addBody, class: 'Missing' }))).toMatchObject({
      ok: false,
      status: 404,
      message: 'class "Missing" not found',
    });
  });

  it('deletes idempotently; a re-created class is a new incarnation with new shards', () => {
    const h = new Harness();
    h.create({ class: 'Article' });
    const oldShards = h.sm.getShards('Article')!.map((s) => s.name);
    expect(h.apply(commands.deleteCollection('article'))).toEqual({
      ok: true,
      index: 2,
      changed: true,
    });
    expect(h.sm.getCollection('Article')).toBeUndefined();
    expect(h.apply(commands.deleteCollection('Article'))).toEqual({
      ok: true,
      index: 3,
      changed: false,
    });
    expect(h.apply(commands.deleteCollection('Nothing'))).toEqual({
      ok: true,
      index: 4,
      changed: false,
    });
    h.create({ class: 'Article' });
    expect(h.sm.getCollectionInfo('Article')?.createdIndex).toBe(5);
    expect(
      h.sm
        .getShards('Article')!
        .map((s) => s.name)
        .filter((name) => oldShards.includes(name)),
    ).toEqual([]);
  });

  it('enforces the collection limit at apply time', () => {
    const h = new Harness();
    const definition = collection({});
    const state = ok(planPlacement(definition, nodes, new Map()));
    for (let i = 0; i < METADATA_LIMITS.maxCollections; i++) {
      h.apply(commands.createCollection({ ...definition, class: `C${i}` }, state));
    }
    expect(
      h.apply(commands.createCollection({ ...definition, class: 'OneMore' }, state)),
    ).toMatchObject({
      ok: false,
      status: 422,
      message: expect.stringContaining('maximum number of collections (1000) reached'),
    });
  });
});

describe('tenants', () => {
  it('go through their lifecycle and statuses', () => {
    const h = new Harness();
    h.create(MT);
    expect(h.sm.getShardingState('Mt')).toEqual({ physical: [], virtualToPhysical: [] });
    expect(
      h.addTenants('Mt', [...active('b', 'a'), { name: 'c', activityStatus: 'INACTIVE' }]),
    ).toMatchObject({ ok: true, changed: true });
    expect(h.sm.getTenants('Mt')).toEqual([
      { name: 'a', activityStatus: 'ACTIVE' },
      { name: 'b', activityStatus: 'ACTIVE' },
      { name: 'c', activityStatus: 'INACTIVE' },
    ]);
    expect(h.sm.getTenants('Mt', ['c', 'zz', 'a'])!.map((t) => t.name)).toEqual(['a', 'c']);
    expect(h.sm.getShards('Mt')!.map((s) => s.belongsToNodes.length)).toEqual([2, 2, 2]);

    // Adding existing tenants again changes nothing (retries are harmless).
    const replicasOfA = h.sm.getTenantReplicas('Mt', 'a');
    expect(h.addTenants('Mt', [{ name: 'a', activityStatus: 'INACTIVE' }])).toMatchObject({
      ok: true,
      changed: false,
    });
    expect(h.sm.getTenantReplicas('Mt', 'a')).toEqual(replicasOfA);

    for (const status of [
      'INACTIVE',
      'OFFLOADED',
      'ACTIVE',
      'OFFLOADED',
      'INACTIVE',
      'ACTIVE',
    ] as const) {
      expect(
        h.apply(commands.updateTenants('Mt', [{ name: 'a', activityStatus: status }])),
      ).toMatchObject({ ok: true, changed: true });
      expect(h.sm.getTenants('Mt', ['a'])).toEqual([{ name: 'a', activityStatus: status }]);
    }
    expect(
      h.apply(commands.updateTenants('Mt', [{ name: 'a', activityStatus: 'ACTIVE' }])),
    ).toMatchObject({ ok: true, changed: false });

    // All or nothing: one missing tenant fails the whole update.
    const version = h.sm.getCollectionInfo('Mt')!.version;
    expect(
      h.apply(
        commands.updateTenants('Mt', [
          { name: 'b', activityStatus: 'INACTIVE' },
          { name: 'nope', activityStatus: 'INACTIVE' },
        ]),
      ),
    ).toMatchObject({ ok: false, status: 404, message: 'tenants not found: ["nope"]' });
    expect(h.sm.getTenants('Mt', ['b'])).toEqual(active('b'));
    expect(h.sm.getCollectionInfo('Mt')!.version).toBe(version);

    expect(h.apply(commands.deleteTenants('Mt', ['a', 'ghost']))).toMatchObject({
      ok: true,
      changed: true,
    });
    expect(h.apply(commands.deleteTenants('Mt', ['ghost']))).toMatchObject({
      ok: true,
      changed: false,
    });
    expect(h.sm.getTenants('Mt')!.map((t) => t.name)).toEqual(['b', 'c']);
    expect(replicasForShard(h.sm, 'Mt', 'b')).toEqual(h.sm.getTenantReplicas('Mt', 'b'));
    expect(replicasForShard(h.sm, 'Mt', 'a')).toBeUndefined();
    h.sm.checkInvariants();
  });

  it('refuse unknown classes, single-tenant classes and wrong replica counts', () => {
    const h = new Harness();
    h.create({ class: 'Article' });
    h.create(MT);
    const placed = [
      { name: 't', activityStatus: 'ACTIVE' as const, belongsToNodes: ['node-00', 'node-01'] },
    ];
    expect(h.apply(commands.addTenants('Nope', placed))).toMatchObject({
      ok: false,
      status: 404,
      message: 'class "Nope" not found',
    });
    expect(h.apply(commands.addTenants('Article', placed))).toMatchObject({
      ok: false,
      status: 422,
      message: 'multi-tenancy is not enabled for class "Article"',
    });
    expect(h.apply(commands.updateTenants('Article', active('t')))).toMatchObject({
      ok: false,
      status: 422,
    });
    expect(h.apply(commands.deleteTenants('Article', ['t']))).toMatchObject({
      ok: false,
      status: 422,
    });
    expect(
      h.apply(commands.addTenants('Mt', [{ ...placed[0]!, belongsToNodes: ['node-00'] }])),
    ).toMatchObject({
      ok: false,
      status: 422,
      message: 'tenant "t" is placed on 1 nodes, the replication factor of class "Mt" is 2',
    });
    expect(h.sm.getTenants('Mt')).toEqual([]);
    expect(h.sm.getTenants('Article')).toBeUndefined();
  });

  it('are deleted with their collection', () => {
    const h = new Harness();
    h.create(MT);
    h.addTenants('Mt', active('a'));
    h.apply(commands.deleteCollection('Mt'));
    h.create(MT);
    expect(h.sm.getTenants('Mt')).toEqual([]);
  });
});

describe('contract with the driver', () => {
  it('answers malformed commands with 400, still advancing the version, changing nothing', () => {
    const h = new Harness();
    h.create({ class: 'Article' });
    const before = h.sm.snapshot();
    for (const garbage of [
      null,
      {},
      { v: 9, type: 'deleteCollection', class: 'Article' },
      { v: 1, type: 'deleteCollection' },
    ]) {
      const result = h.apply(garbage as unknown as MetadataCommand);
      expect(result).toMatchObject({ ok: false, status: 400 });
    }
    expect(h.sm.applyEntry(++h.index, Buffer.from('{not json'))).toMatchObject({
      ok: false,
      status: 400,
    });
    expect(h.sm.version).toBe(6);
    expect(JSON.parse(h.sm.snapshot().toString()).collections).toEqual(
      JSON.parse(before.toString()).collections,
    );
  });

  it('applies encoded entries, and treats empty data as the leader’s no-op', () => {
    const h = new Harness();
    expect(h.sm.applyEntry(1, Buffer.alloc(0))).toEqual({ ok: true, index: 1, changed: false });
    expect(h.sm.applyEntry(2, encodeCommand(h.createCommand({ class: 'Article' })))).toMatchObject({
      ok: true,
      changed: true,
    });
    expect(h.sm.version).toBe(2);
  });

  it('throws when indices do not increase', () => {
    const h = new Harness();
    h.create({ class: 'Article' });
    expect(() => h.sm.apply(1, commands.deleteCollection('Article'))).toThrow(
      /increasing index order/,
    );
    expect(() => h.sm.applyEntry(1.5, Buffer.alloc(0))).toThrow();
    expect(h.sm.getCollection('Article')).toBeDefined();
  });

  it('prechecks without changing anything', () => {
    const h = new Harness();
    const create = h.createCommand({ class: 'Article' });
    expect(h.sm.precheck(create)).toEqual({ ok: true });
    expect(h.sm.version).toBe(0);
    h.apply(create);
    expect(h.sm.precheck(create)).toEqual({
      ok: false,
      status: 422,
      message: 'class name "Article" already exists',
    });
    expect(h.sm.precheck({ v: 1 } as unknown as MetadataCommand)).toMatchObject({
      ok: false,
      status: 400,
    });
  });

  it('hands out frozen data', () => {
    const h = new Harness();
    h.create({ class: 'Article' });
    const definition = h.sm.getCollection('Article')!;
    expect(() => {
      (definition.replicationConfig as { factor: number }).factor = 5;
    }).toThrow(TypeError);
    expect(Object.isFrozen(h.sm.getShardingState('Article')!.physical[0]!.belongsToNodes)).toBe(
      true,
    );
  });

  it('routes objects of a created collection', () => {
    const h = new Harness();
    h.create({ class: 'Article', replicationConfig: { factor: 2 } });
    const shard = shardForObject(
      h.sm.getShardingState('Article')!,
      '6f9619ff-8b86-d011-b42d-00c04fc964ff',
    );
    expect(replicasForShard(h.sm, 'Article', shard)).toHaveLength(2);
  });
});

describe('snapshots', () => {
  function populated(): Harness {
    const h = new Harness();
    h.create({
      class: 'Article',
      description: 'ünïcode ✓',
      properties: [{ name: 'title', dataType: ['text'] }],
    });
    h.create(MT);
    h.addTenants('Mt', [...active('z', 'a'), { name: 'm', activityStatus: 'INACTIVE' }]);
    h.apply(commands.updateTenants('Mt', [{ name: 'a', activityStatus: 'OFFLOADED' }]));
    h.create({ class: 'Gone' });
    h.apply(commands.deleteCollection('Gone'));
    return h;
  }

  it('round-trip to an equal state and byte-identical bytes', () => {
    const h = populated();
    const data = h.sm.snapshot();
    const restored = MetadataStateMachine.restore(data);
    expect(restored.snapshot().equals(data)).toBe(true);
    expect(restored.version).toBe(h.sm.version);
    expect(restored.listCollections()).toEqual(h.sm.listCollections());
    expect(restored.getTenants('Mt')).toEqual(h.sm.getTenants('Mt'));
    expect(restored.getCollectionInfo('Mt')).toEqual(h.sm.getCollectionInfo('Mt'));
    // The restored machine keeps going like the original.
    const next = commands.updateTenants('Mt', active('a'));
    expect(restored.apply(h.index + 1, next)).toEqual(h.apply(next));
    expect(restored.snapshot().equals(h.sm.snapshot())).toBe(true);
  });

  it('are canonical: insertion order does not matter', () => {
    const a = new Harness();
    a.create({ class: 'Beta' });
    a.create({ class: 'Alpha' });
    const b = new Harness();
    b.create({ class: 'Alpha', replicationConfig: { factor: 1 } });
    b.create({ class: 'Beta' });
    // Same collections, created in another order: equal apart from their indices and placements.
    const strip = (h: Harness) =>
      (
        JSON.parse(h.sm.snapshot().toString()) as { collections: { definition: unknown }[] }
      ).collections.map((c) => c.definition);
    expect(strip(a)).toEqual(strip(b));
    expect(new MetadataStateMachine().snapshot().toString()).toBe(
      '{"collections":[],"format":1,"version":0}',
    );
  });

  it('are byte-identical for equal states reached in different orders', () => {
    const replicas = ['node-00', 'node-01'];
    const tenant = (name: string) => ({
      name,
      activityStatus: 'ACTIVE' as const,
      belongsToNodes: replicas,
    });
    const build = (order: string[]) => {
      const h = new Harness();
      h.create(MT);
      h.apply(commands.addTenants('Mt', order.map(tenant)));
      return h.sm.snapshot();
    };
    expect(build(['b', 'a', 'c']).equals(build(['c', 'a', 'b']))).toBe(true);
  });

  it.each<[string, (raw: LooseJson) => unknown]>([
    ['not JSON', () => '{'],
    ['other format', (raw) => ({ ...raw, format: 2 })],
    ['collections not an array', (raw) => ({ ...raw, collections: {} })],
    ['version behind a collection', (raw) => ({ ...raw, version: 1 })],
    [
      'definition not normalized',
      (raw) => {
        raw.collections[0].definition.properties[0].name = 'Title';
        return raw;
      },
    ],
    [
      'duplicate class',
      (raw) => ({ ...raw, collections: [raw.collections[0], raw.collections[0]] }),
    ],
    [
      'duplicate tenant',
      (raw) => {
        raw.collections[1].tenants.push(raw.collections[1].tenants[0]);
        return raw;
      },
    ],
    [
      'tenant wrong replica count',
      (raw) => {
        raw.collections[1].tenants[0].belongsToNodes.pop();
        return raw;
      },
    ],
    [
      'broken sharding',
      (raw) => {
        raw.collections[0].shardingState.physical.pop();
        return raw;
      },
    ],
  ])('refuse to restore: %s', (_label, corrupt) => {
    const raw = JSON.parse(populated().sm.snapshot().toString());
    const corrupted = corrupt(raw);
    const data = Buffer.from(typeof corrupted === 'string' ? corrupted : JSON.stringify(corrupted));
    expect(() => MetadataStateMachine.restore(data)).toThrow(
      /invalid metadata snapshot|invariant broken/,
    );
  });
});
