/**
 * Object → shard: golden vectors (tokens from spaolacci/murmur3, virtual shard indices from exact
 * integer arithmetic), exactness of the range computation, uniformity over random and over
 * sequential UUIDs (seeded chi-square), and replica lookup. Replay with METADATA_ROUTING_SEED.
 */
import { murmur3x64_64 } from '../../../src/metadata/hashing.js';
import { planPlacement } from '../../../src/metadata/placement.js';
import {
  objectToken,
  replicasForShard,
  shardForObject,
  uuidBytes,
  virtualShardOf,
  type ShardLookup,
} from '../../../src/metadata/routing.js';
import type { ShardingState } from '../../../src/metadata/types.js';
import { prng, seedFrom } from '../../support/random.js';
import { collection, nodeNames, ok, randomUuid } from './fixtures.js';

const seed = seedFrom('METADATA_ROUTING_SEED', 'metadata routing');

function state(desiredCount: number, virtualPerPhysical = 128): ShardingState {
  const definition = collection({ shardingConfig: { desiredCount, virtualPerPhysical } });
  return ok(planPlacement(definition, nodeNames(3), new Map()));
}

/** Upper bound of chi-square with `df` degrees of freedom at z standard deviations (Wilson–Hilferty). */
function chiSquareBound(df: number, z: number): number {
  const v = 2 / (9 * df);
  return df * (1 - v + z * Math.sqrt(v)) ** 3;
}

function chiSquare(counts: readonly number[], total: number): number {
  const expected = total / counts.length;
  return counts.reduce((sum, count) => sum + (count - expected) ** 2 / expected, 0);
}

describe('uuidBytes / objectToken', () => {
  it('parses 8-4-4-4-12 UUIDs in either case and nothing else', () => {
    expect(uuidBytes('6F9619FF-8B86-D011-B42D-00C04FC964FF')?.toString('hex')).toBe(
      '6f9619ff8b86d011b42d00c04fc964ff',
    );
    for (const bad of [
      '',
      '6f9619ff8b86d011b42d00c04fc964ff',
      '6f9619ff-8b86-d011-b42d-00c04fc964fg',
      '{6f9619ff-8b86-d011-b42d-00c04fc964ff}',
    ]) {
      expect(uuidBytes(bad)).toBeUndefined();
    }
    expect(() => objectToken('nope')).toThrow(RangeError);
  });

  it('hashes the 16 raw bytes (Weaviate’s token), not the text', () => {
    const uuid = '6f9619ff-8b86-d011-b42d-00c04fc964ff';
    expect(objectToken(uuid)).toEqual(
      murmur3x64_64(Buffer.from('6f9619ff8b86d011b42d00c04fc964ff', 'hex')),
    );
    expect(objectToken(uuid.toUpperCase())).toEqual(objectToken(uuid));
  });
});

describe('virtualShardOf', () => {
  const exact = (hi: number, lo: number, v: number) =>
    Number((((BigInt(hi) << 32n) | BigInt(lo)) * BigInt(v)) >> 64n);

  it('is ⌊token·V / 2^64⌋ exactly, at the edges and on random tokens', () => {
    const random = prng(seed);
    const edges = [0, 1, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];
    const cases: [number, number][] = edges.flatMap((hi) =>
      edges.map((lo): [number, number] => [hi, lo]),
    );
    for (let i = 0; i < 5_000; i++) {
      cases.push([Math.floor(random() * 2 ** 32), Math.floor(random() * 2 ** 32)]);
    }
    const mismatches: string[] = [];
    for (const v of [1, 2, 3, 7, 128, 384, 1000, 65_536]) {
      // Tokens just below a range boundary, where only the low half decides the range.
      const boundaries = [1, 2, 3, 5].map((k): [number, number] => [
        Math.min(Math.ceil((k * 2 ** 32) / v) - 1, 0xffffffff),
        0xffffffff,
      ]);
      for (const [hi, lo] of [...cases, ...boundaries]) {
        const got = virtualShardOf({ hi, lo }, v);
        if (got !== exact(hi, lo, v))
          mismatches.push(`seed=${seed} hi=${hi} lo=${lo} V=${v}: ${got}`);
      }
    }
    expect(mismatches).toEqual([]);
  });

  it('rejects a virtual count outside [1, 65536]', () => {
    expect(() => virtualShardOf({ hi: 0, lo: 0 }, 0)).toThrow(RangeError);
    expect(() => virtualShardOf({ hi: 0, lo: 0 }, 65_537)).toThrow(RangeError);
  });
});

describe('shardForObject', () => {
  // Tokens verified against spaolacci/murmur3; indices by exact integer arithmetic.
  const GOLDEN: readonly [string, number, number][] = [
    // uuid, virtual index with 3×128, physical index
    ['00000000-0000-0000-0000-000000000000', 113, 2],
    ['ffffffff-ffff-ffff-ffff-ffffffffffff', 325, 1],
    ['6f9619ff-8b86-d011-b42d-00c04fc964ff', 194, 2],
    ['c2d3e1a0-537c-4bd4-a9f3-f0e3a8d4b7c1', 236, 2],
    ['018f3b5c-7e2a-7c4d-9e1f-2a3b4c5d6e7f', 302, 2],
  ];

  it.each(GOLDEN)('is stable for %s', (uuid, virtual, physical) => {
    const sharding = state(3);
    expect(virtualShardOf(objectToken(uuid), sharding.virtualToPhysical.length)).toBe(virtual);
    expect(shardForObject(sharding, uuid)).toBe(sharding.physical[physical]!.name);
  });

  it('follows the stored virtual → physical map', () => {
    const sharding = state(3);
    const moved: ShardingState = {
      ...sharding,
      virtualToPhysical: sharding.virtualToPhysical.map(() => 0),
    };
    expect(shardForObject(moved, GOLDEN[1]![0])).toBe(sharding.physical[0]!.name);
  });

  it('refuses a multi-tenant state and malformed ids', () => {
    expect(() => shardForObject({ physical: [], virtualToPhysical: [] }, GOLDEN[0]![0])).toThrow(
      /multi-tenant/,
    );
    expect(() => shardForObject(state(2), 'not-a-uuid')).toThrow(RangeError);
  });

  it.each([
    ['random v4-like', (random: () => number) => () => randomUuid(random)],
    [
      'sequential',
      // Ids differing only in their last bytes (counters, time-ordered ids): a weak hash clusters them.
      () => {
        let n = 0;
        return () => `0190a1b2-c3d4-7e5f-8a9b-${(n++).toString(16).padStart(12, '0')}`;
      },
    ],
  ])(
    'spreads %s UUIDs uniformly over physical and virtual shards (chi-square)',
    (label, makeIds) => {
      const desiredCount = 7;
      const sharding = state(desiredCount);
      const index = new Map(sharding.physical.map((shard, i) => [shard.name, i]));
      const physical = new Array<number>(desiredCount).fill(0);
      const virtual = new Array<number>(sharding.virtualToPhysical.length).fill(0);
      const nextId = makeIds(prng(seed + 7));
      const total = label === 'sequential' ? 50_000 : 100_000;
      for (let i = 0; i < total; i++) {
        const uuid = nextId();
        physical[index.get(shardForObject(sharding, uuid))!]! += 1;
        virtual[virtualShardOf(objectToken(uuid), virtual.length)]! += 1;
      }
      // z = 5: a correct hash fails about once in 3.5 million runs.
      for (const [what, counts] of [
        ['physical', physical],
        ['virtual', virtual],
      ] as const) {
        const statistic = chiSquare(counts, total);
        const bound = chiSquareBound(counts.length - 1, 5);
        expect({ seed, what, statistic, uniform: statistic < bound }).toEqual({
          seed,
          what,
          statistic,
          uniform: true,
        });
      }
    },
  );
});

describe('replicasForShard', () => {
  const sharding = state(2);
  const lookup: ShardLookup = {
    getShardingState: (name) =>
      name === 'Article'
        ? sharding
        : name === 'Mt'
          ? { physical: [], virtualToPhysical: [] }
          : undefined,
    getTenantReplicas: (name, tenant) =>
      name === 'Mt' && tenant === 't1' ? ['node-01', 'node-02'] : undefined,
  };

  it('finds the replicas of a shard or of a tenant', () => {
    expect(replicasForShard(lookup, 'Article', sharding.physical[1]!.name)).toEqual(
      sharding.physical[1]!.belongsToNodes,
    );
    expect(replicasForShard(lookup, 'Mt', 't1')).toEqual(['node-01', 'node-02']);
  });

  it('answers undefined for unknown collections, shards and tenants', () => {
    expect(replicasForShard(lookup, 'Nope', 'x')).toBeUndefined();
    expect(replicasForShard(lookup, 'Article', 't1')).toBeUndefined();
    expect(replicasForShard(lookup, 'Mt', 'other')).toBeUndefined();
  });
});
