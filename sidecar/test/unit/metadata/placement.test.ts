/**
 * Placement: even spread (seeded property test over many cluster shapes), determinism, distinct
 * replicas, load awareness, virtual shard map, shard names. Replay with METADATA_PLACEMENT_SEED.
 */
import {
  countReplicas,
  planPlacement,
  planTenantPlacement,
  shardNames,
} from '../../../src/metadata/placement.js';
import { canonicalStringify } from '../../../src/metadata/json.js';
import type { ShardPlacement, Tenant } from '../../../src/metadata/types.js';
import { prng, seedFrom } from '../../support/random.js';
import { collection, err, nodeNames, ok } from './fixtures.js';

const seed = seedFrom('METADATA_PLACEMENT_SEED', 'metadata placement');
const NO_LOAD = new Map<string, number>();

function spread(load: Map<string, number>, nodes: readonly string[]): number {
  const counts = nodes.map((node) => load.get(node) ?? 0);
  return Math.max(...counts) - Math.min(...counts);
}

/** Shards whose replicas are not `factor` distinct members of `nodes` (no expect in loops: it is slow). */
function malformed(
  shards: readonly ShardPlacement[],
  factor: number,
  nodes: readonly string[],
): string[] {
  const members = new Set(nodes);
  return shards
    .filter(
      (shard) =>
        shard.belongsToNodes.length !== factor ||
        new Set(shard.belongsToNodes).size !== factor ||
        shard.belongsToNodes.some((node) => !members.has(node)),
    )
    .map((shard) => `${shard.name}: ${shard.belongsToNodes.join(',')}`);
}

describe('planPlacement (single-tenant)', () => {
  it('spreads replicas evenly on fresh clusters of many shapes (max − min ≤ 1 per node)', () => {
    const random = prng(seed);
    const int = (min: number, max: number) => min + Math.floor(random() * (max - min + 1));
    for (let trial = 0; trial < 250; trial++) {
      const nodes = nodeNames(int(1, 24));
      const factor = int(1, nodes.length);
      const desiredCount = int(1, 48);
      const definition = collection(
        {
          replicationConfig: { factor },
          shardingConfig: { desiredCount, virtualPerPhysical: int(1, 8) },
        },
        nodes.length,
      );
      const state = ok(planPlacement(definition, nodes, NO_LOAD, { nonce: String(trial) }));
      const context = `seed=${seed} trial=${trial} nodes=${nodes.length} factor=${factor} shards=${desiredCount}`;
      const problems = [
        ...(state.physical.length === desiredCount ? [] : [`${state.physical.length} shards`]),
        ...malformed(state.physical, factor, nodes),
        ...(spread(countReplicas(state.physical), nodes) <= 1 ? [] : ['uneven spread']),
      ];
      // Determinism: the same inputs (even with the node list in another order) give the same state.
      const again = ok(
        planPlacement(definition, [...nodes].reverse(), new Map(), { nonce: String(trial) }),
      );
      if (canonicalStringify(again) !== canonicalStringify(state))
        problems.push('not deterministic');
      expect({ context, problems }).toEqual({ context, problems: [] });
    }
  });

  it('spreads the first-listed replica too when shards are a multiple of the nodes', () => {
    const nodes = nodeNames(4);
    const definition = collection(
      { replicationConfig: { factor: 3 }, shardingConfig: { desiredCount: 8 } },
      4,
    );
    const state = ok(planPlacement(definition, nodes, NO_LOAD));
    const firsts = countReplicas(
      state.physical.map((shard) => ({ belongsToNodes: shard.belongsToNodes.slice(0, 1) })),
    );
    expect(spread(firsts, nodes)).toBe(0);
  });

  it('places new replicas on the least-loaded nodes', () => {
    const nodes = ['a', 'b', 'c', 'd'];
    const load = new Map([
      ['a', 5],
      ['b', 0],
      ['c', 1],
      ['d', 0],
      ['gone', 0], // not a member any more: ignored
    ]);
    const definition = collection(
      { replicationConfig: { factor: 2 }, shardingConfig: { desiredCount: 1 } },
      4,
    );
    const [shard] = ok(planPlacement(definition, nodes, load)).physical;
    expect([...shard!.belongsToNodes].sort()).toEqual(['b', 'd']);
    // After balancing the load, later shards avoid the loaded node.
    const three = collection(
      { replicationConfig: { factor: 2 }, shardingConfig: { desiredCount: 3 } },
      4,
    );
    const placed = ok(planPlacement(three, nodes, load)).physical.flatMap((s) => s.belongsToNodes);
    expect(placed).not.toContain('a');
  });

  it('rejects a factor larger than the cluster, naming both numbers', () => {
    const definition = collection({ replicationConfig: { factor: 3 } }, 3);
    const error = err(planPlacement(definition, ['a', 'b'], NO_LOAD));
    expect(error.field).toBe('replicationConfig.factor');
    expect(error.message).toContain('factor 3');
    expect(error.message).toContain('only 2 nodes');
  });

  it.each([
    [['a', 'a', 'b'], 'unique'],
    [['a', ''], 'non-empty'],
  ])('rejects the node list %j', (nodes, message) => {
    const error = err(planPlacement(collection({}, 1), nodes, NO_LOAD));
    expect(error.field).toBe('nodes');
    expect(error.message).toContain(message);
  });

  it('deals desiredCount × virtualPerPhysical virtual shards round-robin', () => {
    const definition = collection({ shardingConfig: { desiredCount: 3, virtualPerPhysical: 4 } });
    const state = ok(planPlacement(definition, nodeNames(3), NO_LOAD));
    expect(state.virtualToPhysical).toEqual([0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2]);
    const defaults = ok(planPlacement(collection({}), nodeNames(3), NO_LOAD));
    expect(defaults.virtualToPhysical).toHaveLength(3 * 128);
  });

  it('gives multi-tenant collections no shards', () => {
    const definition = collection({ multiTenancyConfig: { enabled: true } });
    expect(ok(planPlacement(definition, nodeNames(3), NO_LOAD))).toEqual({
      physical: [],
      virtualToPhysical: [],
    });
  });
});

describe('shard names', () => {
  it('are 12 base-62 characters, distinct, and deterministic', () => {
    const names = shardNames('Article', 200, '7');
    for (const name of names) expect(name).toMatch(/^[0-9A-Za-z]{12}$/);
    expect(new Set(names).size).toBe(200);
    expect(shardNames('Article', 200, '7')).toEqual(names);
    expect(shardNames('ARTICLE', 200, '7')).toEqual(names);
  });

  it('change with the nonce, so a re-created class gets new storage keys', () => {
    const before = shardNames('Article', 3, '10');
    const after = shardNames('Article', 3, '42');
    expect(after.filter((name) => before.includes(name))).toEqual([]);
  });

  it('are pinned (a change would move data of existing deployments)', () => {
    expect(shardNames('Article', 2, '')).toEqual(shardNames('article', 2, ''));
    expect(shardNames('Article', 2, '')).toEqual(['5ch65LsQgjUZ', 'wsC0pa8LeBO5']);
  });
});

describe('planTenantPlacement', () => {
  const tenants = (names: string[]): Tenant[] =>
    names.map((name) => ({ name, activityStatus: 'ACTIVE' }));

  it('keeps the cumulative spread ≤ 1 over many batches when fed back the load', () => {
    const random = prng(seed + 1);
    for (let trial = 0; trial < 40; trial++) {
      const nodes = nodeNames(1 + Math.floor(random() * 9));
      const factor = 1 + Math.floor(random() * nodes.length);
      const definition = collection(
        { replicationConfig: { factor }, multiTenancyConfig: { enabled: true } },
        nodes.length,
      );
      const placed: ShardPlacement[] = [];
      for (let batch = 0; batch < 20; batch++) {
        const size = 1 + Math.floor(random() * 5);
        const names = Array.from({ length: size }, (_, i) => `t-${trial}-${batch}-${i}`);
        const shards = ok(
          planTenantPlacement(definition, tenants(names), nodes, countReplicas(placed)),
        );
        placed.push(...shards);
        const context = `seed=${seed} trial=${trial} batch=${batch}`;
        const problems = [
          ...(shards.map((s) => s.name).join() === names.join() ? [] : ['names out of order']),
          ...malformed(shards, factor, nodes),
          ...(spread(countReplicas(placed), nodes) <= 1 ? [] : ['uneven spread']),
        ];
        expect({ context, problems }).toEqual({ context, problems: [] });
      }
    }
  });

  it('keeps the requested statuses and is deterministic', () => {
    const definition = collection({
      replicationConfig: { factor: 2 },
      multiTenancyConfig: { enabled: true },
    });
    const input: Tenant[] = [
      { name: 'a', activityStatus: 'INACTIVE' },
      { name: 'b', activityStatus: 'ACTIVE' },
    ];
    const first = ok(planTenantPlacement(definition, input, nodeNames(3), NO_LOAD));
    expect(first.map((t) => t.activityStatus)).toEqual(['INACTIVE', 'ACTIVE']);
    expect(ok(planTenantPlacement(definition, input, nodeNames(3), NO_LOAD))).toEqual(first);
  });

  it('limits the replicas one request places', () => {
    const definition = collection(
      { replicationConfig: { factor: 9 }, multiTenancyConfig: { enabled: true } },
      9,
    );
    const names = Array.from({ length: 911 }, (_, i) => `t${i}`);
    const error = err(planTenantPlacement(definition, tenants(names), nodeNames(9), NO_LOAD));
    expect(error.field).toBe('tenants');
    expect(error.message).toContain('911 tenants × replication factor 9 is 8199 replicas');
    expect(
      ok(planTenantPlacement(definition, tenants(names.slice(0, 910)), nodeNames(9), NO_LOAD)),
    ).toHaveLength(910);
  });

  it('refuses single-tenant collections and too few nodes', () => {
    expect(
      err(planTenantPlacement(collection({}), tenants(['a']), nodeNames(3), NO_LOAD)).message,
    ).toBe('multi-tenancy is not enabled for class "Article"');
    const mt = collection({
      replicationConfig: { factor: 3 },
      multiTenancyConfig: { enabled: true },
    });
    expect(err(planTenantPlacement(mt, tenants(['a']), nodeNames(2), NO_LOAD)).field).toBe(
      'replicationConfig.factor',
    );
  });
});
