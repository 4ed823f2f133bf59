/**
 * Determinism under replay, on seeded random logs. A leader proposes commands computed from its
 * own applied state while earlier proposals are still in flight (so later commands are often
 * stale and conflict at apply time), mixed with malformed entries and no-ops. Then:
 *   - a follower replaying the whole log from scratch gets the same results and the same bytes;
 *   - a follower restoring the leader's snapshot at any cut and applying the suffix does too;
 *   - a small outside model of classes and tenants agrees with the state machine.
 * Replay a failure with METADATA_REPLAY_SEED=<seed>.
 */
import { commands, encodeCommand, type MetadataCommand } from '../../../src/metadata/commands.js';
import { planPlacement, planTenantPlacement } from '../../../src/metadata/placement.js';
import { MetadataStateMachine, type ApplyResult } from '../../../src/metadata/state-machine.js';
import type { CollectionDefinition, TenantActivityStatus } from '../../../src/metadata/types.js';
import { validateCollectionUpdate } from '../../../src/metadata/updates.js';
import { validateNewCollection } from '../../../src/metadata/validation.js';
import { prng, seedFrom } from '../../support/random.js';
import { nodeNames } from './fixtures.js';

const seed = seedFrom('METADATA_REPLAY_SEED', 'metadata replay');

const NODES = nodeNames(4);
const CLASS_NAMES = ['Alpha', 'alpha', 'ALPHA', 'Beta', 'BetA', 'Gamma', 'Delta'];
const TENANTS = ['t0', 't1', 't2', 't3', 't4', 't5'];
const STATUSES: TenantActivityStatus[] = ['ACTIVE', 'INACTIVE', 'OFFLOADED'];

type Random = () => number;
const pick = <T>(random: Random, items: readonly T[]): T =>
  items[Math.floor(random() * items.length)]!;
const some = <T>(random: Random, items: readonly T[], max: number): T[] =>
  items.filter(() => random() < max / items.length);

/** Proposes commands computed from the leader's applied state (possibly stale by commit time). */
function propose(random: Random, leader: MetadataStateMachine, nonce: number): Buffer {
  const existing = leader.listCollections();
  const target = (): CollectionDefinition | undefined =>
    existing.length > 0 ? pick(random, existing) : undefined;
  const roll = random();

  if (roll < 0.2) {
    const multiTenant = random() < 0.5;
    const body = {
      class: pick(random, CLASS_NAMES),
      replicationConfig: {
        factor: 1 + Math.floor(random() * 3),
        deletionStrategy: pick(random, ['DeleteOnConflict', undefined]),
      },
      multiTenancyConfig: {
        enabled: multiTenant,
        autoTenantCreation: multiTenant && random() < 0.5,
      },
      ...(multiTenant
        ? {}
        : {
            shardingConfig: {
              desiredCount: 1 + Math.floor(random() * 4),
              virtualPerPhysical: 1 + Math.floor(random() * 4),
            },
          }),
      properties: some(random, ['title', 'body', 'views'], 2).map((name) => ({
        name,
        dataType: [name === 'views' ? 'int' : 'text'],
      })),
    };
    const definition = validateNewCollection(body, { nodeCount: NODES.length });
    if ('error' in definition) throw new Error(`generator bug: ${definition.error.message}`);
    const placement = planPlacement(definition.ok, NODES, leader.nodeLoad(), {
      nonce: String(nonce),
    });
    if ('error' in placement) throw new Error(`generator bug: ${placement.error.message}`);
    return encodeCommand(commands.createCollection(definition.ok, placement.ok));
  }
  const definition = target();
  if (roll < 0.35 && definition) {
    const change = pick(random, [
      { description: `d${nonce}` },
      { properties: [...definition.properties, { name: `p${nonce}`, dataType: ['text'] }] },
      {
        replicationConfig: {
          deletionStrategy: pick(random, ['NoAutomatedResolution', 'TimeBasedResolution']),
        },
      },
      {
        multiTenancyConfig: {
          autoTenantActivation: definition.multiTenancyConfig.enabled && random() < 0.5,
        },
      },
    ]);
    const updated = validateCollectionUpdate(definition, change);
    if ('error' in updated) throw new Error(`generator bug: ${updated.error.message}`);
    // Now and then a forbidden transition the leader should not have proposed: apply refuses it.
    const next =
      random() < 0.1
        ? {
            ...updated.ok,
            replicationConfig: {
              ...updated.ok.replicationConfig,
              factor: updated.ok.replicationConfig.factor + 1,
            },
          }
        : updated.ok;
    return encodeCommand(commands.updateCollection(next));
  }
  // Tenant commands mostly go to multi-tenant classes; the rest exercise the refusals.
  const multiTenant = existing.filter((d) => d.multiTenancyConfig.enabled);
  const className =
    roll >= 0.45 && multiTenant.length > 0 && random() < 0.8
      ? pick(random, multiTenant).class
      : definition && random() < 0.9
        ? definition.class
        : pick(random, CLASS_NAMES);
  if (roll < 0.45) return encodeCommand(commands.deleteCollection(className));
  if (roll < 0.65) {
    const tenants = some(random, TENANTS, 2).map((name) => ({
      name,
      activityStatus: pick(random, ['ACTIVE', 'INACTIVE'] as const),
    }));
    const known = leader.getCollection(className);
    const placed = known?.multiTenancyConfig.enabled
      ? planTenantPlacement(known, tenants, NODES, leader.nodeLoad())
      : { ok: tenants.map((t) => ({ ...t, belongsToNodes: NODES.slice(0, 2) })) };
    if ('error' in placed) throw new Error(`generator bug: ${placed.error.message}`);
    return encodeCommand(commands.addTenants(className, placed.ok));
  }
  if (roll < 0.8) {
    const tenants = some(random, TENANTS, 2).map((name) => ({
      name,
      activityStatus: pick(random, STATUSES),
    }));
    return encodeCommand(commands.updateTenants(className, tenants));
  }
  if (roll < 0.9) return encodeCommand(commands.deleteTenants(className, some(random, TENANTS, 2)));
  if (roll < 0.95) return Buffer.alloc(0); // a new leader's no-op
  return pick(random, [
    Buffer.from('{"v":2,"type":"deleteCollection","class":"Alpha"}'),
    Buffer.from(
      '{"v":1,"type":"createCollection","definition":{"class":"Alpha"},"shardingState":{}}',
    ),
    Buffer.from([0xff, 0xfe, 0x00]),
  ]);
}

/** Classes and their tenant names, tracked from the outside (command + result only). */
class Model {
  readonly classes = new Map<
    string,
    { name: string; tenants: Set<string>; createdIndex: number; version: number }
  >();

  observe(command: MetadataCommand | undefined, result: ApplyResult): void {
    if (!command || !result.ok) return;
    const key = ('class' in command ? command.class : command.definition.class).toLowerCase();
    const entry = this.classes.get(key);
    if (entry && result.changed) entry.version = result.index;
    switch (command.type) {
      case 'createCollection':
        this.classes.set(key, {
          name: command.definition.class,
          tenants: new Set(),
          createdIndex: result.index,
          version: result.index,
        });
        break;
      case 'deleteCollection':
        if (result.changed) this.classes.delete(key);
        break;
      case 'addTenants':
        for (const tenant of command.tenants) entry!.tenants.add(tenant.name);
        break;
      case 'deleteTenants':
        for (const name of command.names) entry!.tenants.delete(name);
        break;
      default:
    }
  }

  check(machine: MetadataStateMachine): string[] {
    const problems: string[] = [];
    const names = [...this.classes.values()].map((c) => c.name).sort();
    const actual = machine.listCollections().map((d) => d.class);
    if (names.join() !== actual.join())
      problems.push(`classes ${actual.join()} != model ${names.join()}`);
    for (const entry of this.classes.values()) {
      const tenants = machine.getTenants(entry.name)?.map((t) => t.name) ?? [];
      const expected = [...entry.tenants].sort();
      if (tenants.join() !== expected.join())
        problems.push(`${entry.name}: tenants ${tenants.join()} != ${expected.join()}`);
      const info = machine.getCollectionInfo(entry.name);
      if (info?.createdIndex !== entry.createdIndex || info.version !== entry.version) {
        problems.push(
          `${entry.name}: versions ${info?.createdIndex}/${info?.version} != ${entry.createdIndex}/${entry.version}`,
        );
      }
    }
    return problems;
  }
}

function decodeForModel(data: Buffer): MetadataCommand | undefined {
  try {
    return data.length > 0 ? (JSON.parse(data.toString('utf8')) as MetadataCommand) : undefined;
  } catch {
    return undefined;
  }
}

describe('replay', () => {
  it.each([0, 1, 2])('from scratch and from any snapshot gives the same state (run %i)', (run) => {
    const random = prng(seed + run * 7919);
    const leader = new MetadataStateMachine();
    const model = new Model();
    const log: Buffer[] = [];
    const results: ApplyResult[] = [];
    const snapshots = new Map<number, Buffer>(); // applied index → snapshot
    const inFlight: Buffer[] = [];
    const steps = 300;

    while (log.length < steps) {
      // Propose while up to 3 entries are in flight: later proposals may be stale when committed.
      if (inFlight.length < 3 && (inFlight.length === 0 || random() < 0.5)) {
        inFlight.push(propose(random, leader, log.length + inFlight.length));
        continue;
      }
      const data = inFlight.shift()!;
      log.push(data);
      const result = leader.applyEntry(log.length, data);
      results.push(result);
      model.observe(result.ok ? decodeForModel(data) : undefined, result);
      leader.checkInvariants();
      const context = `seed=${seed} run=${run} index=${log.length}`;
      expect({ context, problems: model.check(leader) }).toEqual({ context, problems: [] });
      if (random() < 0.05) snapshots.set(log.length, leader.snapshot());
    }
    const final = leader.snapshot();
    expect(results.filter((r) => !r.ok).length).toBeGreaterThan(10); // the log does contain conflicts
    expect(results.filter((r) => r.ok && r.changed).length).toBeGreaterThan(50);

    const scratch = new MetadataStateMachine();
    const replayed = log.map((data, i) => scratch.applyEntry(i + 1, data));
    expect(replayed).toEqual(results);
    expect(scratch.snapshot().equals(final)).toBe(true);

    snapshots.set(0, new MetadataStateMachine().snapshot());
    for (const [cut, snapshot] of snapshots) {
      const follower = MetadataStateMachine.restore(snapshot);
      expect(follower.version).toBe(cut);
      const suffix = log.slice(cut).map((data, i) => follower.applyEntry(cut + i + 1, data));
      expect({ cut, results: suffix }).toEqual({ cut, results: results.slice(cut) });
      expect({ cut, identical: follower.snapshot().equals(final) }).toEqual({
        cut,
        identical: true,
      });
    }
  });
});
