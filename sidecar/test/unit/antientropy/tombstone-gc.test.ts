/**
 * Tombstone purge decisions. Safety: whenever the ledger allows a purge, a brute-force model over
 * the full event history (arrivals, overlapping sessions, clean or not, incarnation and
 * membership changes) finds, for every current peer, a clean confirmation that started after the
 * tombstone arrived and a second clean one at least a grace period later in the same incarnation
 * and membership. Liveness: with regular clean sessions a tombstone becomes purgeable within
 * grace + a few cycles. End to end: three replicas deleting, syncing and purging never resurrect
 * a delete and converge to no tombstones. Replay with ANTIENTROPY_SEED=<seed>.
 */
import { treeKeyOf } from '../../../src/antientropy/entry-hash.js';
import { MemoryReplica, driveSession } from '../../../src/antientropy/memory-replica.js';
import { TombstoneLedger, planPurges } from '../../../src/antientropy/tombstone-gc.js';
import type { Digest } from '../../../src/storage/object-store.js';
import { prng, seedFrom } from '../../support/random.js';
import { CONFIG, entry, int, pick, uuid, v, type Rand } from './helpers.js';

const seed = seedFrom('ANTIENTROPY_SEED', 'antientropy tombstone-gc');

const GRACE = 10_000;

interface Arrival {
  readonly key: number;
  readonly seq: number;
}
interface SessionRecord {
  readonly peer: string;
  readonly startSeq: number;
  readonly clean: boolean;
  readonly atMs: number;
  readonly incarnation: string;
}

/** The reference: may a tombstone that arrived at `arrival.seq` be purged, given the history? */
function modelAllows(
  arrival: Arrival,
  peers: readonly string[],
  records: readonly SessionRecord[],
  membershipSeq: number,
): boolean {
  if (peers.length === 0) return false;
  return peers.every((peer) => {
    const mine = records.filter((r) => r.peer === peer && r.startSeq > membershipSeq);
    const current = mine[mine.length - 1]?.incarnation;
    let from = mine.length;
    while (from > 0 && mine[from - 1]!.incarnation === current) from--;
    const window = mine.slice(from);
    return window.some(
      (s1, i) =>
        s1.clean &&
        s1.startSeq > arrival.seq &&
        window.slice(i + 1).some((s2) => s2.clean && s2.atMs >= s1.atMs + GRACE),
    );
  });
}

describe('tombstone ledger', () => {
  test('property: a purge is never allowed before every replica confirmed it, a grace apart', () => {
    const rand = prng(seed ^ 0x8181);
    let allowed = 0;
    for (let round = 0; round < 40; round++) {
      const height = int(rand, 0, 6);
      let replicas = ['node-0', 'node-1', 'node-2'];
      let epoch = 1;
      const ledger = new TombstoneLedger({
        height,
        self: 'node-0',
        replicas,
        membershipEpoch: String(epoch),
        graceMs: GRACE,
        maxHistoryPerPeer: int(rand, 4, 12),
      });
      let seq = 0;
      let now = 0;
      let membershipSeq = 0;
      const arrivals: Arrival[] = [];
      const records: SessionRecord[] = [];
      const open: { peer: string; tick: number; startSeq: number }[] = [];
      const incarnations = new Map<string, string>();
      const keys = Array.from({ length: 6 }, () => treeKeyOf(uuid(rand)));
      for (let step = 0; step < 400; step++) {
        seq++;
        const r = rand();
        const peers = replicas.filter((x) => x !== 'node-0');
        if (r < 0.15) {
          const key = pick(rand, keys);
          ledger.noteTombstone(key);
          arrivals.push({ key, seq });
        } else if (r < 0.4 && peers.length > 0) {
          open.push({ peer: pick(rand, peers), tick: ledger.beginSession(), startSeq: seq });
        } else if (r < 0.7 && open.length > 0) {
          const s = open.splice(int(rand, 0, open.length - 1), 1)[0]!;
          if (rand() < 0.03) incarnations.set(s.peer, `i${seq}`);
          const incarnation = incarnations.get(s.peer) ?? 'i0';
          const clean = rand() < 0.8;
          ledger.recordSession(s.peer, s.tick, { clean }, now, incarnation);
          records.push({ peer: s.peer, startSeq: s.startSeq, clean, atMs: now, incarnation });
        } else if (r < 0.72) {
          replicas = rand() < 0.5 ? ['node-0', 'node-1', 'node-2', 'node-3'] : ['node-0', 'node-2'];
          epoch++;
          ledger.setMembership(replicas, String(epoch));
          membershipSeq = seq;
        } else {
          now += int(rand, 0, 3_000);
        }
        const currentPeers = replicas.filter((x) => x !== 'node-0');
        for (const arrival of arrivals) {
          if (ledger.canPurge(arrival.key)) {
            allowed++;
            expect(modelAllows(arrival, currentPeers, records, membershipSeq)).toBe(true);
          }
        }
      }
    }
    expect(allowed).toBeGreaterThan(0);
  });

  test('liveness: regular clean sessions make a tombstone purgeable within grace + a few cycles', () => {
    const ledger = new TombstoneLedger({
      height: 4,
      self: 'a',
      replicas: ['a', 'b', 'c'],
      membershipEpoch: 'e1',
      graceMs: GRACE,
    });
    const key = treeKeyOf('00000000-0000-4000-8000-000000000001');
    const cycle = 500;
    let now = 0;
    const run = (): void => {
      for (const peer of ['b', 'c'])
        ledger.recordSession(peer, ledger.beginSession(), { clean: true }, now, 'i');
      now += cycle;
    };
    for (let i = 0; i < 10; i++) run();
    ledger.noteTombstone(key);
    const arrivedAt = now;
    expect(ledger.purgeVerdict(key)).toMatchObject({
      purge: false,
      reason: 'not confirmed since it arrived',
    });
    while (!ledger.canPurge(key)) {
      run();
      expect(now - arrivedAt).toBeLessThanOrEqual(GRACE + GRACE / 8 + 3 * cycle);
    }
    // A new arrival in the same leaf starts over; a restart of a peer voids its confirmations.
    ledger.noteTombstone(key);
    expect(ledger.canPurge(key)).toBe(false);
    while (!ledger.canPurge(key)) run();
    ledger.recordSession('b', ledger.beginSession(), { clean: true }, now, 'restarted');
    expect(ledger.purgeVerdict(key)).toMatchObject({ purge: false, peer: 'b' });
    // Membership change resets; unknown peers and pre-change sessions are ignored.
    while (!ledger.canPurge(key)) run();
    const before = ledger.beginSession();
    ledger.setMembership(['a', 'b', 'c'], 'e2');
    expect(ledger.canPurge(key)).toBe(false);
    ledger.recordSession('b', before, { clean: true }, now, 'restarted');
    ledger.recordSession('zz', ledger.beginSession(), { clean: true }, now, 'x');
    expect(ledger.purgeVerdict(key)).toMatchObject({
      purge: false,
      reason: 'not confirmed since it arrived',
    });
  });

  test('factor 1: nobody can confirm, nothing is purgeable; bad inputs are refused', () => {
    const solo = new TombstoneLedger({
      height: 2,
      self: 'a',
      replicas: ['a'],
      membershipEpoch: 'e',
      graceMs: 1,
    });
    expect(solo.canPurge(0)).toBe(false);
    expect(
      () =>
        new TombstoneLedger({
          height: 2,
          self: 'a',
          replicas: ['b'],
          membershipEpoch: 'e',
          graceMs: 1,
        }),
    ).toThrow();
    expect(
      () =>
        new TombstoneLedger({
          height: 2,
          self: 'a',
          replicas: ['a'],
          membershipEpoch: 'e',
          graceMs: 0,
        }),
    ).toThrow();
    const l = new TombstoneLedger({
      height: 2,
      self: 'a',
      replicas: ['a', 'b'],
      membershipEpoch: 'e',
      graceMs: 1,
    });
    expect(() => l.recordSession('b', 1, { clean: true }, 0, 'i')).toThrow(/tick/);
    l.recordSession('b', l.beginSession(), { clean: true }, 5, 'i');
    expect(() => l.recordSession('b', l.beginSession(), { clean: true }, 4, 'i')).toThrow(
      /backwards/,
    );
    expect(l.memoryBytes).toBe(16);
  });
});

describe('end to end: delete, sync, purge', () => {
  interface Node {
    readonly replica: MemoryReplica;
    readonly ledger: TombstoneLedger;
  }

  function cluster(rand: Rand, objects: number): { nodes: Node[]; ids: string[] } {
    const names = ['node-0', 'node-1', 'node-2'];
    const ids = Array.from({ length: objects }, () => uuid(rand));
    const initial = ids.map((id) => entry(id, v(1_000 + int(rand, 0, 100))));
    const nodes = names.map((name) => {
      const replica = new MemoryReplica(name, 5, initial);
      const ledger = new TombstoneLedger({
        height: 5,
        self: name,
        replicas: names,
        membershipEpoch: 'e',
        graceMs: GRACE,
      });
      replica.onChange = (_prev, next) => ledger.noteEntry(next);
      return { replica, ledger };
    });
    return { nodes, ids };
  }

  test('property: deletes are never resurrected, tombstones end up purged everywhere', () => {
    const rand = prng(seed ^ 0x8282);
    for (let round = 0; round < 4; round++) {
      const { nodes, ids } = cluster(rand, 60);
      let now = 10_000;
      const deleted = new Set<string>();
      let wall = 2_000;
      // Deletes reach a random subset of replicas (failed writes), like a partial QUORUM.
      for (const id of ids) {
        if (rand() < 0.5) continue;
        const tomb = entry(id, v(++wall, 0, 'node-1'), true);
        const reached = nodes.filter(() => rand() < 0.6);
        for (const n of reached.length > 0 ? reached : [nodes[0]!]) n.replica.set(id, tomb);
        deleted.add(id);
      }
      const nowWall = wall + 1_000_000;
      let converged = false;
      for (let cycle = 0; cycle < 80 && !converged; cycle++) {
        for (const local of nodes) {
          for (const peer of nodes) {
            if (peer === local) continue;
            const tick = local.ledger.beginSession();
            const report = driveSession(local.replica, peer.replica, {
              strategy: pick(rand, ['TimeBasedResolution', 'DeleteOnConflict'] as const),
              nowMs: nowWall,
              config: { ...CONFIG, propagationDelay: 1000 },
              stamp: () => v(nowWall, 0, local.replica.name),
              gc: local.ledger.sessionView(peer.replica.name),
            });
            local.ledger.recordSession(
              peer.replica.name,
              tick,
              report.result,
              now,
              peer.replica.incarnation,
            );
          }
          // The GC loop: purge what the ledger allows.
          const tombstones = [...local.replica.records.values()].filter((d: Digest) => d.deleted);
          for (const p of planPurges(tombstones, local.ledger, 1000))
            local.replica.purge(p.id, p.version);
        }
        now += 1_000;
        let resurrected = 0;
        for (const n of nodes) {
          for (const id of deleted) if (n.replica.records.get(id)?.deleted === false) resurrected++;
        }
        expect(resurrected).toBe(0);
        converged = nodes.every(
          (n) =>
            [...n.replica.records.values()].every((d) => !d.deleted) &&
            Buffer.from(n.replica.tree.root()).equals(Buffer.from(nodes[0]!.replica.tree.root())),
        );
      }
      for (const n of nodes) {
        expect([...n.replica.records.values()].filter((d) => d.deleted)).toHaveLength(0);
        expect(n.replica.records.size).toBe(ids.length - deleted.size);
        expect(
          Buffer.from(n.replica.tree.root()).equals(Buffer.from(nodes[0]!.replica.tree.root())),
        ).toBe(true);
      }
    }
  });
});
