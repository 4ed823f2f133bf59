/** Command encoding: canonical round trips, and every malformed command rejected (never thrown). */
import {
  commands,
  decodeCommand,
  encodeCommand,
  validateCommand,
  type MetadataCommand,
} from '../../../src/metadata/commands.js';
import { planPlacement, planTenantPlacement } from '../../../src/metadata/placement.js';
import { MetadataStateMachine } from '../../../src/metadata/state-machine.js';
import type { CollectionDefinition, ShardingState } from '../../../src/metadata/types.js';
import { prng, seedFrom } from '../../support/random.js';
import { collection, nodeNames, ok } from './fixtures.js';

const seed = seedFrom('METADATA_COMMANDS_SEED', 'metadata commands');
const pick = <T>(random: () => number, items: readonly T[]): T =>
  items[Math.floor(random() * items.length)]!;
const nodes = nodeNames(3);
const single = collection({
  replicationConfig: { factor: 2 },
  shardingConfig: { desiredCount: 2, virtualPerPhysical: 4 },
});
const multi = collection({
  class: 'Mt',
  replicationConfig: { factor: 2 },
  multiTenancyConfig: { enabled: true },
});
const sharding = ok(planPlacement(single, nodes, new Map()));
const tenants = ok(
  planTenantPlacement(
    multi,
    [
      { name: 't1', activityStatus: 'ACTIVE' },
      { name: 't2', activityStatus: 'INACTIVE' },
    ],
    nodes,
    new Map(),
  ),
);

const samples: MetadataCommand[] = [
  commands.createCollection(single, sharding),
  commands.createCollection(multi, { physical: [], virtualToPhysical: [] }),
  commands.updateCollection({ ...single, description: 'changed' }),
  commands.deleteCollection('Article'),
  commands.addTenants('Mt', tenants),
  commands.updateTenants('Mt', [{ name: 't1', activityStatus: 'OFFLOADED' }]),
  commands.deleteTenants('Mt', ['t1', 't2']),
];

/** Parsed JSON that the tests corrupt along arbitrary paths: typing each path adds nothing. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type LooseJson = any;

/** A JSON copy of a command with one change, as a peer with a bug (or an attacker) could send. */
function mutate(command: MetadataCommand, change: (raw: LooseJson) => void): Buffer {
  const raw: LooseJson = JSON.parse(JSON.stringify(command));
  change(raw);
  return Buffer.from(JSON.stringify(raw));
}

function decodeError(data: Uint8Array): string {
  const result = decodeCommand(data);
  if ('ok' in result) throw new Error(`expected a decode error, got ${JSON.stringify(result.ok)}`);
  return result.error;
}

describe('encodeCommand / decodeCommand', () => {
  it.each(samples.map((command) => [command.type, command] as const))(
    'round-trips %s',
    (_type, command) => {
      const encoded = encodeCommand(command);
      const decoded = decodeCommand(encoded);
      expect(decoded).toEqual({ ok: command });
      if ('ok' in decoded) expect(encodeCommand(decoded.ok).equals(encoded)).toBe(true);
    },
  );

  it('is canonical: key order does not matter, keys come out sorted', () => {
    const shuffled = {
      type: 'deleteCollection',
      class: 'Article',
      v: 1,
    } as unknown as MetadataCommand;
    expect(encodeCommand(shuffled).toString()).toBe(
      '{"class":"Article","type":"deleteCollection","v":1}',
    );
  });

  it('normalizes what a caller left loose (class name case, duplicate names)', () => {
    const decoded = validateCommand({
      v: 1,
      type: 'deleteTenants',
      class: 'mt',
      names: ['a', 'a'],
    });
    expect(decoded).toEqual({ ok: { v: 1, type: 'deleteTenants', class: 'Mt', names: ['a'] } });
  });
});

describe('malformed commands are errors, not exceptions', () => {
  const create = samples[0]!;
  const addTenants = samples[4]!;

  it.each<[string, Uint8Array, string]>([
    ['not JSON', Buffer.from('{"v":1,'), 'undecodable command'],
    ['not an object', Buffer.from('[1]'), 'a command must be a JSON object'],
    [
      'unknown version',
      Buffer.from('{"v":2,"type":"deleteCollection","class":"A"}'),
      'unsupported command version 2',
    ],
    [
      'missing version',
      Buffer.from('{"type":"deleteCollection","class":"A"}'),
      'unsupported command version',
    ],
    [
      'unknown type',
      Buffer.from('{"v":1,"type":"dropEverything"}'),
      'unknown command type "dropEverything"',
    ],
    ['prototype type', Buffer.from('{"v":1,"type":"toString"}'), 'unknown command type'],
    ['oversized', Buffer.alloc(4 * 1024 * 1024 + 1, 32), 'more than the limit'],
    [
      'bad class',
      Buffer.from('{"v":1,"type":"deleteCollection","class":"a-b"}'),
      "invalid deleteCollection command: class: 'A-b' is not a valid class name",
    ],
    [
      'invalid definition',
      mutate(create, (c) => (c.definition.replicationConfig.factor = -2)),
      'definition.replicationConfig.factor',
    ],
    [
      'too few shards',
      mutate(create, (c) => c.shardingState.physical.pop()),
      "has 1 shards, the definition's desiredCount is 2",
    ],
    [
      'replica count',
      mutate(create, (c) => c.shardingState.physical[0].belongsToNodes.pop()),
      'the replication factor is 2',
    ],
    [
      'node twice',
      mutate(create, (c) => (c.shardingState.physical[0].belongsToNodes = ['n', 'n'])),
      'lists a node twice',
    ],
    [
      'empty node name',
      mutate(create, (c) => (c.shardingState.physical[0].belongsToNodes = ['n', ''])),
      'must be a node name',
    ],
    [
      'shard name twice',
      mutate(create, (c) => (c.shardingState.physical[1].name = c.shardingState.physical[0].name)),
      'appears twice',
    ],
    [
      'virtual out of range',
      mutate(create, (c) => (c.shardingState.virtualToPhysical[0] = 2)),
      'must be a physical shard index in [0, 2)',
    ],
    ['virtual count', mutate(create, (c) => c.shardingState.virtualToPhysical.pop()), 'expected 8'],
    [
      'orphan shard',
      mutate(
        create,
        (c) => (c.shardingState.virtualToPhysical = c.shardingState.virtualToPhysical.map(() => 0)),
      ),
      'without virtual shards',
    ],
    [
      'shards for multi-tenant',
      mutate(samples[1]!, (c) => (c.shardingState = sharding as ShardingState)),
      'must be empty for a multi-tenant collection',
    ],
    ['update class mismatch', mutate(samples[2]!, (c) => (c.class = 'Other')), 'does not match'],
    [
      'tenant created offloaded',
      mutate(addTenants, (c) => (c.tenants[0].activityStatus = 'OFFLOADED')),
      'a new tenant cannot be OFFLOADED',
    ],
    [
      'tenant twice',
      mutate(addTenants, (c) => (c.tenants[1].name = 't1')),
      'tenant "t1" appears twice',
    ],
    [
      'tenant without nodes',
      mutate(addTenants, (c) => (c.tenants[0].belongsToNodes = [])),
      'non-empty array of node names',
    ],
    [
      'tenant bad name',
      mutate(addTenants, (c) => (c.tenants[0].name = 'a b')),
      "'a b' is not a valid tenant name",
    ],
    [
      'legacy status in a command',
      mutate(samples[5]!, (c) => (c.tenants[0].activityStatus = 'HOT')),
      'must be one of ACTIVE, INACTIVE, OFFLOADED',
    ],
    ['names not an array', mutate(samples[6]!, (c) => (c.names = 't1')), 'names: must be an array'],
  ])('%s', (_label, data, message) => {
    expect(decodeError(data)).toContain(message);
  });

  it('never throws on randomly corrupted commands (seeded fuzz)', () => {
    const random = prng(seed);
    const junk = (): unknown =>
      pick(random, [
        null,
        0,
        -1,
        1.5,
        2 ** 60,
        '',
        'x',
        'Alpha',
        true,
        [],
        {},
        [null],
        { v: 1 },
        ['a', 'a'],
      ]);
    /** Every path from `value` down to each value inside it. */
    const paths = (value: unknown, prefix: (string | number)[] = []): (string | number)[][] => {
      if (typeof value !== 'object' || value === null) return [prefix];
      const keys = Array.isArray(value) ? value.map((_, i) => i) : Object.keys(value);
      return [
        prefix,
        ...keys.flatMap((key) =>
          paths((value as Record<string | number, unknown>)[key], [...prefix, key]),
        ),
      ];
    };
    const machine = new MetadataStateMachine();
    let index = 0;
    for (let round = 0; round < 400; round++) {
      const raw: LooseJson = JSON.parse(JSON.stringify(pick(random, samples)));
      for (let edits = 1 + Math.floor(random() * 3); edits > 0; edits--) {
        const path = pick(
          random,
          paths(raw).filter((p) => p.length > 0),
        );
        const parent = path.slice(0, -1).reduce((node: LooseJson, key) => node[key], raw);
        if (random() < 0.2 && !Array.isArray(parent)) delete parent[path[path.length - 1]!];
        else parent[path[path.length - 1]!] = junk();
      }
      const data = Buffer.from(JSON.stringify(raw));
      const context = `seed=${seed} round=${round} ${data.toString().slice(0, 120)}`;
      expect(() => decodeCommand(data)).not.toThrow();
      index += 1;
      expect(() => machine.applyEntry(index, data)).not.toThrow();
      expect([context, machine.version]).toEqual([context, index]);
    }
    machine.checkInvariants();
  });

  it('survives values nested deeper than the stack (hostile input)', () => {
    const deep = '['.repeat(200_000) + ']'.repeat(200_000);
    expect(decodeError(Buffer.from(`{"v":1,"type":"deleteCollection","class":${deep}}`))).toBe(
      'invalid deleteCollection command: class: class must be a string (got a deeply nested array)',
    );
  });

  it('validateCommand rejects non-objects and mistyped fields', () => {
    expect(validateCommand(null)).toEqual({ error: 'a command must be a JSON object (got null)' });
    expect(
      validateCommand({ v: 1, type: 'createCollection', definition: 'x', shardingState: {} }),
    ).toEqual({
      error:
        'invalid createCollection command: definition: collection definition must be a JSON object',
    });
  });

  it('refuses to encode a command past the entry limit', () => {
    const huge: CollectionDefinition = {
      ...single,
      moduleConfig: { blob: 'x'.repeat(5 * 1024 * 1024) },
    };
    expect(() => encodeCommand(commands.updateCollection(huge))).toThrow(RangeError);
  });
});
