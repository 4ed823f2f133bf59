/**
 * The replica side of the data path in-process, with a real MemoryStore, a real metadata state
 * machine and a manual clock: staging and its expiry, clock-skew refusals, the schema checks
 * (version wait, incarnation, placement), prepare reports, conditional repair.
 */
import pino from 'pino';
import { Registry } from 'prom-client';
import { RpcHandlerError } from '../../../src/mesh/errors.js';
import { commands } from '../../../src/metadata/commands.js';
import { planPlacement } from '../../../src/metadata/placement.js';
import { MetadataStateMachine } from '../../../src/metadata/state-machine.js';
import { HybridClock } from '../../../src/replication/hlc.js';
import { StagingArea } from '../../../src/replication/staging.js';
import { MemoryStore } from '../../../src/storage/memory-store.js';
import type { StoredRecord } from '../../../src/storage/object-store.js';
import { encodeVersion } from '../../../src/versioning/version.js';
import { ReplicaService } from '../../../src/data/replica-service.js';
import { ReplicationMetrics } from '../../../src/data/replication-metrics.js';
import { storageKey, type SchemaStamp } from '../../../src/data/targets.js';
import { collection, nodeNames, ok } from '../metadata/fixtures.js';

const NODES = nodeNames(3);
const SELF = NODES[0]!;
const ID = '6a1c3c4e-1b7e-4c55-9a8e-2f3f8f0d9b01';
const TTL = 1_000;

function setup() {
  let now = 1_000_000;
  const sm = new MetadataStateMachine();
  const definition = collection({
    class: 'Doc',
    replicationConfig: { factor: 2 },
    shardingConfig: { desiredCount: 3 },
  });
  sm.apply(
    1,
    commands.createCollection(
      definition,
      ok(planPlacement(definition, NODES, sm.nodeLoad(), { nonce: '1' })),
    ),
  );
  const info = sm.getCollectionInfo('Doc')!;
  const held = info.shardingState.physical.find((p) => p.belongsToNodes.includes(SELF))!.name;
  const notHeld = info.shardingState.physical.find((p) => !p.belongsToNodes.includes(SELF))!.name;
  const registry = new Registry();
  const metrics = new ReplicationMetrics(registry);
  const store = new MemoryStore();
  const waits: number[] = [];
  const service = new ReplicaService({
    nodeName: SELF,
    store,
    schema: {
      machine: sm,
      waitForVersion: (version) => {
        waits.push(version);
        return Promise.reject(new Error('timed out applying'));
      },
    },
    clock: new HybridClock(SELF, () => now, { maxDriftMs: 60_000 }),
    staging: new StagingArea({ ttlMs: TTL, maxRequests: 10, maxBytes: 1 << 20 }),
    metrics,
    logger: pino({ level: 'silent' }),
    schemaWaitMs: 10,
    now: () => now,
  });
  const schema: SchemaStamp = { class: 'Doc', createdIndex: 1, version: info.version };
  const version = (wallMs: number, node = 'node-1') => encodeVersion({ wallMs, logical: 0, node });
  const record = (v: string, deleted = false): StoredRecord => ({
    id: ID,
    version: v,
    deleted,
    payload: deleted ? null : Buffer.from(`{"v":"${v}"}`),
  });
  const routed = (shard = held) => ({ hlc: version(now), schema, shard });
  return {
    service,
    store,
    metrics,
    registry,
    waits,
    held,
    notHeld,
    schema,
    version,
    record,
    routed,
    key: storageKey(schema, held),
    advance: (ms: number) => (now += ms),
    now: () => now,
  };
}

async function refusal(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof RpcHandlerError) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('expected a refusal');
}

async function metric(registry: Registry, name: string): Promise<number> {
  const found = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  return (found?.values ?? []).reduce((sum, v) => sum + v.value, 0);
}

describe('ReplicaService', () => {
  it('applies a staged prepare on commit, and reports existing and newer versions on prepare', async () => {
    const t = setup();
    const v1 = t.version(t.now());
    expect(
      await t.service.prepare({ ...t.routed(), requestId: 'a', records: [t.record(v1)] }),
    ).toMatchObject({ exists: false });
    expect(await t.service.commit({ ...t.routed(), requestId: 'a' })).toMatchObject({
      applied: 1,
    });
    expect((await t.store.read(t.key, ID))?.version).toBe(v1);
    const older = t.version(t.now() - 10);
    expect(
      await t.service.prepare({ ...t.routed(), requestId: 'b', records: [t.record(older)] }),
    ).toMatchObject({ exists: true, newer: v1 });
    // Committing the older version changes nothing: last-write-wins.
    expect(await t.service.commit({ ...t.routed(), requestId: 'b' })).toMatchObject({
      applied: 0,
    });
  });

  it('drops a prepare whose commit never comes within the TTL, and counts it', async () => {
    const t = setup();
    await t.service.prepare({
      ...t.routed(),
      requestId: 'a',
      records: [t.record(t.version(t.now()))],
    });
    t.advance(TTL + 1);
    expect(await refusal(t.service.commit({ ...t.routed(), requestId: 'a' }))).toEqual({
      code: 'not_found',
      message: 'request not found (prepare expired)',
    });
    expect(await metric(t.registry, 'quorumstore_replication_prepares_expired_total')).toBe(1);
    expect(await t.store.read(t.key, ID)).toBeNull();
    // An abort of an unknown request is harmless.
    expect(await t.service.abort({ requestId: 'a' })).toEqual({});
  });

  it('refuses a prepare stamped beyond the drift bound, and counts it', async () => {
    const t = setup();
    const future = t.version(t.now() + 3_600_000);
    const refused = await refusal(
      t.service.prepare({ ...t.routed(), requestId: 'a', records: [t.record(future)] }),
    );
    expect(refused.code).toBe('clock_skew');
    expect(refused.message).toContain(`is 3600000 ms ahead of the clock of node "${SELF}"`);
    expect(await metric(t.registry, 'quorumstore_replication_clock_skew_refused_total')).toBe(1);
    expect(await t.store.read(t.key, ID)).toBeNull();
  });

  it('never refuses a repair for skew, and repairs only if the version is unchanged', async () => {
    const t = setup();
    const future = t.record(t.version(t.now() + 3_600_000));
    const repaired = await t.service.repair({
      ...t.routed(),
      writes: [{ record: future, condition: { kind: 'ifVersion', expected: null } }],
    });
    expect(repaired.outcomes[0]?.applied).toBe(true);
    const stale = await t.service.repair({
      ...t.routed(),
      writes: [
        { record: t.record(t.version(t.now())), condition: { kind: 'ifVersion', expected: null } },
      ],
    });
    expect(stale.outcomes[0]).toEqual({
      applied: false,
      current: { id: ID, version: future.version, deleted: false },
    });
  });

  it('refuses a shard it holds no replica of, an unknown incarnation, and a version it cannot reach', async () => {
    const t = setup();
    const read = (over: object) => t.service.read({ ...t.routed(), id: ID, full: true, ...over });
    expect((await refusal(read({ shard: t.notHeld }))).code).toBe('not_a_replica');
    expect((await refusal(read({ schema: { ...t.schema, createdIndex: 7 } }))).message).toMatch(
      /^collection Doc \(created at index 7\) does not exist on node-00/,
    );
    const behind = await refusal(read({ schema: { ...t.schema, version: 99 } }));
    expect(behind.code).toBe('schema_behind');
    expect(behind.message).toMatch(/has not applied schema version 99 of Doc/);
    expect(t.waits).toEqual([99]);
  });

  it('bounds the staging area: a prepare that does not fit is refused with a reason', async () => {
    const t = setup();
    for (let i = 0; i < 10; i++) {
      await t.service.prepare({
        ...t.routed(),
        requestId: `r${i}`,
        records: [t.record(t.version(t.now()))],
      });
    }
    const refused = await refusal(
      t.service.prepare({
        ...t.routed(),
        requestId: 'one-too-many',
        records: [t.record(t.version(t.now()))],
      }),
    );
    expect(refused).toEqual({
      code: 'staging_refused',
      message: 'staging area full: 10 prepared requests (limit 10)',
    });
    expect(await metric(t.registry, 'quorumstore_replication_staging_refused_total')).toBe(1);
  });

  it('runs a batch of calls each as if alone: own results, own errors', async () => {
    const t = setup();
    const v1 = t.version(t.now());
    const reply = await t.service.batch({
      calls: [
        { method: 'prepare', body: { ...t.routed(), requestId: 'a', records: [t.record(v1)] } },
        {
          method: 'prepare',
          body: { ...t.routed(t.notHeld), requestId: 'b', records: [t.record(v1)] },
        },
        { method: 'commit', body: { ...t.routed(), requestId: 'unknown' } },
        { method: 'abort', body: { requestId: 'x' } },
      ],
    });
    expect(reply.results[0]).toMatchObject({ ok: { exists: false } });
    expect(reply.results[1]).toMatchObject({ error: { code: 'not_a_replica' } });
    expect(reply.results[2]).toEqual({
      error: { code: 'not_found', message: 'request not found' },
    });
    expect(reply.results[3]).toEqual({ ok: {} });
    const committed = await t.service.batch({
      calls: [{ method: 'commit', body: { ...t.routed(), requestId: 'a' } }],
    });
    expect(committed.results[0]).toMatchObject({ ok: { applied: 1 } });
    expect((await t.store.read(t.key, ID))?.version).toBe(v1);
  });
});
