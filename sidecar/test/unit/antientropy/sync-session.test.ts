/**
 * SyncSession driven through real msgpack messages between in-memory replicas: one round trip
 * when in sync; every difference found (random divergences incl. tombstones, both directions,
 * heights 0..12, tiny batch and message limits); push-only sessions in both directions converge;
 * per-entry decisions are read repair's (resolveRead) for each deletion strategy;
 * propagationDelay / Limit / BatchSize; malformed replies abort. Replay with
 * ANTIENTROPY_SEED=<seed>.
 */
import { treeKeyOf } from '../../../src/antientropy/entry-hash.js';
import { HashTree } from '../../../src/antientropy/hash-tree.js';
import { MemoryReplica, driveSession, wireTrip } from '../../../src/antientropy/memory-replica.js';
import type { RootStatus, RootsReply } from '../../../src/antientropy/messages.js';
import { answerRoots } from '../../../src/antientropy/responder.js';
import {
  SyncSession,
  decideEntry,
  nextCycleDelayMs,
  rootSummary,
  rootsRequests,
  type EntryContext,
} from '../../../src/antientropy/sync-session.js';
import { DELETION_STRATEGIES, type DeletionStrategy } from '../../../src/metadata/types.js';
import type { Digest } from '../../../src/storage/object-store.js';
import type { EncodedVersion } from '../../../src/versioning/version.js';
import { prng, seedFrom } from '../../support/random.js';
import {
  BASE_MS,
  CONFIG,
  NOW_MS,
  diverged,
  entry,
  int,
  pick,
  randomEntries,
  sameRecords,
  uuid,
  v,
  type DivergenceKind,
} from './helpers.js';
import { compareEncodedVersions } from '../../../src/versioning/version.js';

const seed = seedFrom('ANTIENTROPY_SEED', 'antientropy sync-session');

/** A fresh-version source above every test version (DeleteOnConflict's HLC stand-in). */
function stamper(): () => EncodedVersion {
  let n = 0;
  return () => v(NOW_MS + ++n, 0, 'node-9');
}

function replicas(
  a: Map<string, Digest>,
  b: Map<string, Digest>,
  heightA: number,
  heightB = heightA,
): [MemoryReplica, MemoryReplica] {
  return [
    new MemoryReplica('node-0', heightA, a.values()),
    new MemoryReplica('node-1', heightB, b.values()),
  ];
}

describe('roots', () => {
  test('equal replicas: one round trip, well under 1 KB', () => {
    const rand = prng(seed ^ 0x6161);
    const entries = randomEntries(rand, 2000);
    const [a, b] = replicas(
      new Map(entries.map((e) => [e.id, e])),
      new Map(entries.map((e) => [e.id, e])),
      16,
    );
    const report = driveSession(a, b, {
      strategy: 'TimeBasedResolution',
      nowMs: NOW_MS,
      config: CONFIG,
    });
    expect(report.result.outcome).toBe('in-sync');
    expect(report.result.clean).toBe(true);
    expect(report.result.stats.roundTrips).toBe(1);
    expect(report.bytesToPeer + report.bytesFromPeer).toBeLessThan(1024);
    expect(
      nextCycleDelayMs(report.result, { frequency: 30_000, frequencyWhilePropagating: 5_000 }),
    ).toBe(30_000);
  });

  test('many shards in one request; statuses in order', () => {
    const rand = prng(seed ^ 0x6262);
    const trees = new Map<string, HashTree>();
    const peer = new Map<string, HashTree>();
    for (let i = 0; i < 300; i++) {
      const entries = randomEntries(rand, 5);
      trees.set(`s${i}`, HashTree.fromEntries(4, entries));
      peer.set(`s${i}`, HashTree.fromEntries(6, i % 3 === 0 ? entries.slice(1) : entries));
    }
    const requests = rootsRequests(
      [...trees].map(([shard, tree]) => rootSummary(shard, tree)),
      128,
    );
    expect(requests.map((r) => r.shards.length)).toEqual([128, 128, 44]);
    const statuses = requests.flatMap(
      (r) =>
        wireTrip(
          answerRoots(
            wireTrip(r).message,
            (s) => (s === 's7' ? undefined : { state: 'ready', tree: peer.get(s)! }),
            'inc',
          ),
        ).message.statuses,
    );
    statuses.forEach((status, i) => {
      expect(status.shard).toBe(`s${i}`);
      const want = i === 7 ? 'unknown' : i % 3 === 0 ? 'differ' : 'equal';
      expect(status.state).toBe(want);
    });
    expect(() => rootsRequests([], 0)).toThrow(RangeError);
  });
});

describe('descent and listing find every difference', () => {
  test('property: differences found = the true symmetric difference; pull sessions converge', () => {
    const rand = prng(seed ^ 0x6363);
    for (let round = 0; round < 25; round++) {
      const heightA = int(rand, 0, 12);
      const heightB = rand() < 0.3 ? int(rand, 0, 12) : heightA;
      const d = pick(rand, [1, 2, 5, 30, 200]);
      const { a, b, differing } = diverged(rand, int(rand, 0, 400), d);
      const [ra, rb] = replicas(a, b, heightA, heightB);
      const config = { ...CONFIG, diffBatchSize: pick(rand, [1, 5, 32, 1000]) };
      const limits = {
        maxDigestsPerMessage: pick(rand, [2, 8, 4096]),
        maxNodesPerRequest: pick(rand, [1, 3, 1024]),
      };
      const report = driveSession(ra, rb, {
        strategy: 'TimeBasedResolution',
        nowMs: NOW_MS,
        config,
        pull: true,
        limits,
      });
      expect(report.result.outcome).toBe('reconciled');
      expect(report.result.stats.differences).toBe(differing.size);
      expect(report.result.agreedHeight).toBe(Math.min(heightA, heightB));
      // Pull + push fix everything except tombstones only the peer holds (left to its push).
      const onlyPeerTombstones = [...differing].filter((id) => !a.has(id) && b.get(id)?.deleted);
      for (const id of onlyPeerTombstones) expect(ra.records.has(id)).toBe(false);
      for (const id of onlyPeerTombstones) ra.set(id, rb.records.get(id)!);
      expect(sameRecords(ra.records, rb.records)).toBe(true);
      expect(Buffer.from(ra.tree.root()).equals(Buffer.from(rb.tree.root()))).toBe(true);
    }
  });

  test('property: push-only sessions in both directions converge in one round each', () => {
    const rand = prng(seed ^ 0x6464);
    for (let round = 0; round < 15; round++) {
      const height = int(rand, 0, 12);
      const { a, b, differing } = diverged(rand, int(rand, 0, 400), int(rand, 1, 120));
      // The first push has work whenever `a` holds something `b` lacks or has older. (With few
      // divergences all may favour `b`, whose own push comes second — though a deletion conflict
      // can still make `a` write locally, so no work is not asserted.)
      const aAhead = [...differing].some((id) => {
        const mine = a.get(id);
        const theirs = b.get(id);
        return mine && (!theirs || compareEncodedVersions(mine.version, theirs.version) > 0);
      });
      const [ra, rb] = replicas(a, b, height);
      const strategy = pick(rand, ['TimeBasedResolution', 'DeleteOnConflict'] as const);
      const options = { strategy, nowMs: NOW_MS, config: CONFIG, stamp: stamper() };
      const first = driveSession(ra, rb, options);
      driveSession(rb, ra, options);
      const third = driveSession(ra, rb, options);
      if (aAhead) expect(first.result.propagating).toBe(true);
      expect(third.result.outcome).toBe('in-sync');
      expect(third.result.stats.roundTrips).toBe(1);
      expect(sameRecords(ra.records, rb.records)).toBe(true);
    }
  });

  test('d = 1 descends one level per round trip; d large jumps levels', () => {
    const rand = prng(seed ^ 0x6565);
    const one = diverged(rand, 1500, 1, ['missing-on-b']);
    const [a1, b1] = replicas(one.a, one.b, 12);
    const r1 = driveSession(a1, b1, {
      strategy: 'TimeBasedResolution',
      nowMs: NOW_MS,
      config: CONFIG,
    });
    // roots + 12 levels + one listing.
    expect(r1.result.stats.roundTrips).toBe(14);
    expect(r1.result.stats.digestsReceived).toBe(24);
    expect(r1.result.stats.pushes).toBe(1);

    const many = diverged(rand, 1500, 1500, ['newer-on-a']);
    const [a2, b2] = replicas(many.a, many.b, 12);
    const r2 = driveSession(a2, b2, {
      strategy: 'TimeBasedResolution',
      nowMs: NOW_MS,
      config: CONFIG,
    });
    expect(r2.result.stats.descentSteps).toBeLessThan(12);
    expect(r2.result.stats.pushes).toBe(1500);
  });
});

describe('decisions are read repair decisions', () => {
  const id = '00000000-0000-4000-8000-000000000001';
  const key = treeKeyOf(id);
  const ctx = (strategy: DeletionStrategy, extra: Partial<EntryContext> = {}): EntryContext => ({
    localName: 'node-0',
    peerName: 'node-1',
    strategy,
    youngAfterMs: NOW_MS - 30_000,
    stamp: () => v(NOW_MS, 0, 'node-0'),
    ...extra,
  });
  const live = (ms: number): Digest => entry(id, v(ms));
  const tomb = (ms: number): Digest => entry(id, v(ms), true);

  test('live vs live / absent: newest pushed or pulled, under every strategy', () => {
    for (const strategy of DELETION_STRATEGIES) {
      const push = decideEntry(live(BASE_MS + 2), live(BASE_MS + 1), key, ctx(strategy));
      expect(push).toMatchObject({
        kind: 'repairs',
        repairs: [
          { target: 'peer', source: 'local', expected: v(BASE_MS + 1), record: live(BASE_MS + 2) },
        ],
      });
      const pull = decideEntry(null, live(BASE_MS + 1), key, ctx(strategy));
      expect(pull).toMatchObject({
        kind: 'repairs',
        repairs: [{ target: 'local', source: 'peer', expected: null }],
      });
    }
  });

  test('deletion conflicts follow the strategy', () => {
    // Tombstone newer than live.
    expect(
      decideEntry(tomb(BASE_MS + 5), live(BASE_MS + 1), key, ctx('NoAutomatedResolution')),
    ).toEqual({
      kind: 'conflict',
    });
    for (const s of ['DeleteOnConflict', 'TimeBasedResolution'] as const) {
      expect(decideEntry(tomb(BASE_MS + 5), live(BASE_MS + 1), key, ctx(s))).toMatchObject({
        kind: 'repairs',
        repairs: [{ target: 'peer', source: null, record: tomb(BASE_MS + 5) }],
      });
    }
    // Live newer than tombstone.
    expect(
      decideEntry(tomb(BASE_MS + 1), live(BASE_MS + 5), key, ctx('NoAutomatedResolution')),
    ).toEqual({
      kind: 'conflict',
    });
    expect(
      decideEntry(tomb(BASE_MS + 1), live(BASE_MS + 5), key, ctx('TimeBasedResolution')),
    ).toMatchObject({
      kind: 'repairs',
      repairs: [{ target: 'local', source: 'peer', record: live(BASE_MS + 5) }],
    });
    const doc = decideEntry(tomb(BASE_MS + 1), live(BASE_MS + 5), key, ctx('DeleteOnConflict'));
    expect(doc).toMatchObject({
      kind: 'repairs',
      repairs: [
        {
          target: 'local',
          source: null,
          record: { deleted: true, version: v(NOW_MS, 0, 'node-0') },
        },
        {
          target: 'peer',
          source: null,
          record: { deleted: true, version: v(NOW_MS, 0, 'node-0') },
        },
      ],
    });
    // A clock that cannot stamp above the live version defers.
    expect(
      decideEntry(
        tomb(BASE_MS + 1),
        live(BASE_MS + 5),
        key,
        ctx('DeleteOnConflict', { stamp: () => v(BASE_MS) }),
      ),
    ).toMatchObject({ kind: 'deferred' });
  });

  test('tombstones against absence: ours pushed (or purged when purgeable); theirs left to them', () => {
    for (const strategy of DELETION_STRATEGIES) {
      expect(decideEntry(tomb(BASE_MS + 1), null, key, ctx(strategy))).toMatchObject({
        kind: 'repairs',
        repairs: [{ target: 'peer', source: null, expected: null }],
      });
      const gc = (purgeable: boolean, confirmed: boolean) => ({
        gc: { purgeable: () => purgeable, confirmedByPeer: () => confirmed },
      });
      expect(decideEntry(tomb(BASE_MS + 1), null, key, ctx(strategy, gc(true, true)))).toEqual({
        kind: 'purge',
        purge: { id, version: v(BASE_MS + 1) },
      });
      expect(decideEntry(tomb(BASE_MS + 1), null, key, ctx(strategy, gc(false, true)))).toEqual({
        kind: 'peer-purged',
      });
      expect(
        decideEntry(tomb(BASE_MS + 1), null, key, ctx(strategy, gc(false, false))),
      ).toMatchObject({
        kind: 'repairs',
      });
      expect(decideEntry(null, tomb(BASE_MS + 1), key, ctx(strategy))).toEqual({
        kind: 'peer-tombstone-only',
      });
    }
  });

  test('young versions on either side are skipped', () => {
    const young = NOW_MS - 1_000;
    expect(decideEntry(live(young), live(BASE_MS), key, ctx('TimeBasedResolution'))).toEqual({
      kind: 'young',
    });
    expect(decideEntry(live(BASE_MS), live(young), key, ctx('TimeBasedResolution'))).toEqual({
      kind: 'young',
    });
    expect(decideEntry(null, tomb(young), key, ctx('TimeBasedResolution'))).toEqual({
      kind: 'young',
    });
    expect(decideEntry(live(BASE_MS), live(BASE_MS), key, ctx('TimeBasedResolution'))).toEqual({
      kind: 'equal',
    });
  });

  test('NoAutomatedResolution: conflicts stay, everything else converges', () => {
    const rand = prng(seed ^ 0x6666);
    const kinds: DivergenceKind[] = ['deleted-on-a', 'deleted-on-b', 'newer-on-a', 'missing-on-b'];
    const { a, b, differing } = diverged(rand, 200, 60, kinds);
    const [ra, rb] = replicas(a, b, 8);
    const options = { strategy: 'NoAutomatedResolution' as const, nowMs: NOW_MS, config: CONFIG };
    const first = driveSession(ra, rb, options);
    driveSession(rb, ra, options);
    const conflicts = [...differing].filter(
      (id) => a.get(id)?.deleted !== b.get(id)?.deleted && a.has(id) && b.has(id),
    );
    expect(first.result.stats.conflicts).toBe(conflicts.length);
    for (const id of differing) {
      if (conflicts.includes(id)) expect(ra.records.get(id)).toEqual(a.get(id));
      else expect(ra.records.get(id)).toEqual(rb.records.get(id));
    }
  });
});

describe('limits and delays', () => {
  test('propagationLimit stops the session; batches never exceed propagationBatchSize', () => {
    const rand = prng(seed ^ 0x6767);
    const { a, b } = diverged(rand, 100, 250, ['missing-on-b']);
    const [ra, rb] = replicas(a, b, 6);
    const config = { ...CONFIG, propagationLimit: 100, propagationBatchSize: 7, diffBatchSize: 13 };
    const session = new SyncSession({
      shard: 'shard',
      tree: ra.tree,
      localName: ra.name,
      peerName: rb.name,
      strategy: 'TimeBasedResolution',
      nowMs: NOW_MS,
      config,
    });
    let out = session.start(peerRootStatus(ra, rb));
    let repairs = 0;
    while (out.result === null) {
      for (const batch of out.repairs) {
        expect(batch.length).toBeLessThanOrEqual(7);
        repairs += batch.length;
      }
      const outs = [
        ...out.toLocal.map(
          ({ id, request }) =>
            () =>
              session.onLocalEntries(id, ra.listEntries(request)),
        ),
        ...out.toPeer.map(
          ({ id, request }) =>
            () =>
              session.onPeerReply(id, wireTrip(rb.answer(request)).message as never),
        ),
      ].map((f) => f());
      out = {
        ...outs[outs.length - 1]!,
        repairs: outs.flatMap((o) => o.repairs),
        toPeer: outs.flatMap((o) => o.toPeer),
        toLocal: outs.flatMap((o) => o.toLocal),
      };
    }
    for (const batch of out.repairs) repairs += batch.length;
    expect(out.result.outcome).toBe('limit-reached');
    expect(out.result.clean).toBe(false);
    expect(out.result.propagating).toBe(true);
    expect(repairs).toBe(100);
    // Late replies after the end are ignored.
    expect(
      session.onPeerReply(999, { kind: 'digests-reply', digests: new Uint8Array(0) }).result,
    ).toBe(out.result);
  });

  test('propagationDelay: young differences are skipped and repaired once old', () => {
    const rand = prng(seed ^ 0x6868);
    const { a, b } = diverged(rand, 50, 20, ['missing-on-b', 'newer-on-a']);
    const [ra, rb] = replicas(a, b, 5);
    const young = driveSession(ra, rb, {
      strategy: 'TimeBasedResolution',
      nowMs: BASE_MS + 100_000,
      config: { ...CONFIG, propagationDelay: 2_000_000 },
    });
    expect(young.result.stats.skippedYoung).toBe(20);
    expect(young.result.stats.pushes).toBe(0);
    expect(young.result.propagating).toBe(true);
    const old = driveSession(ra, rb, {
      strategy: 'TimeBasedResolution',
      nowMs: NOW_MS,
      config: CONFIG,
    });
    expect(old.result.stats.pushes).toBe(20);
    expect(sameRecords(ra.records, rb.records)).toBe(true);
  });

  test('tombstone deficits make a session unclean', () => {
    const rand = prng(seed ^ 0x6969);
    const { a, b } = diverged(rand, 50, 3, ['tombstone-only-a']);
    const [ra, rb] = replicas(a, b, 5);
    const first = driveSession(ra, rb, {
      strategy: 'TimeBasedResolution',
      nowMs: NOW_MS,
      config: CONFIG,
    });
    expect(first.result.outcome).toBe('reconciled');
    expect(first.result.stats.tombstoneDeficits).toBe(3);
    expect(first.result.clean).toBe(false);
    const second = driveSession(ra, rb, {
      strategy: 'TimeBasedResolution',
      nowMs: NOW_MS,
      config: CONFIG,
    });
    expect(second.result.clean).toBe(true);
  });
});

describe('robustness', () => {
  function started(): {
    session: SyncSession;
    ra: MemoryReplica;
    rb: MemoryReplica;
    out: ReturnType<SyncSession['start']>;
  } {
    const rand = prng(seed ^ 0x7070);
    const { a, b } = diverged(rand, 100, 10);
    const [ra, rb] = replicas(a, b, 6);
    const session = new SyncSession({
      shard: 'shard',
      tree: ra.tree,
      localName: ra.name,
      peerName: rb.name,
      strategy: 'TimeBasedResolution',
      nowMs: NOW_MS,
      config: CONFIG,
    });
    return { session, ra, rb, out: session.start(peerRootStatus(ra, rb)) };
  }

  test('a digests reply of the wrong length aborts', () => {
    const { session, out } = started();
    const { id } = out.toPeer[0]!;
    const result = session.onPeerReply(id, {
      kind: 'digests-reply',
      digests: new Uint8Array(16),
    }).result;
    expect(result?.outcome).toBe('aborted');
    expect(result?.clean).toBe(false);
    expect(result?.abortReason).toMatch(/wrong length/);
  });

  test('error replies, unknown ids and peers that are not ready abort', () => {
    const a = started();
    expect(
      a.session.onPeerReply(a.out.toPeer[0]!.id, { kind: 'error', code: 'not-ready', message: 'x' })
        .result?.outcome,
    ).toBe('aborted');
    const b = started();
    expect(
      b.session.onPeerReply(12345, { kind: 'digests-reply', digests: new Uint8Array(32) }).result
        ?.abortReason,
    ).toMatch(/outstanding/);
    const c = new SyncSession({
      shard: 'shard',
      tree: new HashTree(3),
      localName: 'node-0',
      peerName: 'node-1',
      strategy: 'TimeBasedResolution',
      nowMs: NOW_MS,
      config: CONFIG,
    });
    expect(c.start({ shard: 'shard', state: 'not-ready' }).result?.outcome).toBe('aborted');
    const e = new SyncSession({
      shard: 'shard',
      tree: new HashTree(3),
      localName: 'node-0',
      peerName: 'node-1',
      strategy: 'TimeBasedResolution',
      nowMs: NOW_MS,
      config: CONFIG,
    });
    expect(e.start({ shard: 'shard', state: 'differ' }).result?.abortReason).toMatch(
      /without height/,
    );
    const d = started();
    expect(d.session.abort('timeout').result?.abortReason).toBe('timeout');
  });

  test('entries out of order or outside the requested nodes abort', () => {
    const rand = prng(seed ^ 0x7171);
    const { a, b } = diverged(rand, 0, 40, ['missing-on-a']);
    const [ra, rb] = replicas(a, b, 0);
    const session = new SyncSession({
      shard: 'shard',
      tree: ra.tree,
      localName: ra.name,
      peerName: rb.name,
      strategy: 'TimeBasedResolution',
      nowMs: NOW_MS,
      config: CONFIG,
    });
    const out = session.start(peerRootStatus(ra, rb));
    const good = rb.listEntries(out.toPeer[0]!.request as never);
    const reversed = {
      ...good,
      entries: { ...good.entries, ids: reverseRecords(good.entries.ids, 16) },
    };
    session.onLocalEntries(out.toLocal[0]!.id, ra.listEntries(out.toLocal[0]!.request));
    const result = session.onPeerReply(out.toPeer[0]!.id, reversed).result;
    expect(result?.abortReason).toMatch(/ascending|through/);
  });

  test('constructor refuses bad configs', () => {
    const base = {
      shard: 'shard',
      tree: new HashTree(3),
      localName: 'node-0',
      peerName: 'node-1',
      strategy: 'TimeBasedResolution' as const,
      nowMs: NOW_MS,
      config: CONFIG,
    };
    expect(() => new SyncSession({ ...base, peerName: 'node-0' })).toThrow(RangeError);
    expect(() => new SyncSession({ ...base, config: { ...CONFIG, diffBatchSize: 0 } })).toThrow(
      RangeError,
    );
    expect(() => new SyncSession({ ...base, strategy: 'DeleteOnConflict' })).toThrow(/stamp/);
    expect(() => new SyncSession({ ...base, limits: { maxDigestsPerMessage: 1 } })).toThrow(
      RangeError,
    );
    expect(uuid(prng(1))).toHaveLength(36);
  });
});

/** The peer's answer to our root, through the wire. */
function peerRootStatus(ra: MemoryReplica, rb: MemoryReplica): RootStatus {
  const request = rootsRequests([rootSummary('shard', ra.tree)], 1)[0]!;
  return (wireTrip(rb.answer(wireTrip(request).message)).message as RootsReply).statuses[0]!;
}

function reverseRecords(bytes: Uint8Array, size: number): Uint8Array {
  const n = bytes.length / size;
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < n; i++) out.set(bytes.subarray(i * size, (i + 1) * size), (n - 1 - i) * size);
  return out;
}
