/**
 * resolveRead: every row of the repair table for each deletion strategy, the fetch / HEAD /
 * unavailable paths, compare-and-set behaviour under concurrent writes, and seeded properties
 * (order independence, idempotence, convergence, no resurrection, versions never go backwards).
 * Replay the randomized part with REPLICATION_SEED=<seed>.
 */
import { DELETION_STRATEGIES, type DeletionStrategy } from '../../../src/metadata/types.js';
import {
  LIST_ACTION,
  READ_STATUS,
  compareDigests,
  deletionConflictMessage,
  readVerdict,
  requiredAcks,
  resolveRead,
  withFetched,
  withRepairOutcome,
  type ConsistencyLevel,
  type ReadInput,
  type ReadReply,
  type ReadResolution,
  type RepairWrite,
} from '../../../src/replication/index.js';
import type { StoredRecord } from '../../../src/storage/object-store.js';
import type { EncodedVersion } from '../../../src/versioning/version.js';
import { prng, seedFrom } from '../../support/random.js';
import {
  ID,
  ReplicaModel,
  combinations,
  digestOf,
  digestReply,
  fullReply,
  live,
  pick,
  readAndRepair,
  readReplies,
  resolveWithFetches,
  shuffle,
  tomb,
  v,
} from './helpers.js';

const STAMP = v(9_000, 0, 'coord');
const stamp = (): EncodedVersion => STAMP;

function input(
  replies: ReadReply[],
  strategy: DeletionStrategy,
  extra: Partial<ReadInput> = {},
): ReadInput {
  return { id: ID, level: 'ALL', factor: replies.length, strategy, replies, ...extra };
}

function repairsOf(resolution: ReadResolution): readonly RepairWrite[] {
  if (resolution.kind !== 'resolved') throw new Error(`not resolved: ${resolution.kind}`);
  return resolution.repairs;
}

/** Compact view of a repair: replica ← (deleted? version) if expected. */
function describeRepairs(resolution: ReadResolution): string[] {
  return repairsOf(resolution).map((r) => {
    const c = r.request.condition;
    if (c.kind !== 'ifVersion') throw new Error('repair without ifVersion');
    const what = `${r.request.record.deleted ? 'tomb' : 'live'}@${r.request.record.version}`;
    return `${r.replica} <- ${what} if ${c.expected ?? 'absent'}`;
  });
}

// -----------------------------------------------------------------------------------------------
// The repair table

interface Row {
  name: string;
  replicas: Record<string, StoredRecord | null>;
  expect: {
    [S in DeletionStrategy]: {
      answer: 'found' | 'not-found' | 'conflict';
      winner?: string; // "live@v" | "tomb@v"
      repairs: string[];
      reason: string;
    };
  };
}

const t10 = v(10);
const t20 = v(20);
const t30 = v(30);

function same(
  answer: 'found' | 'not-found' | 'conflict',
  winner: string | undefined,
  repairs: string[],
  reason: string,
): Row['expect'] {
  const e = { answer, winner, repairs, reason };
  return { NoAutomatedResolution: e, DeleteOnConflict: e, TimeBasedResolution: e };
}

const rows: Row[] = [
  {
    name: 'all replicas agree on a live object',
    replicas: { n0: live(t10), n1: live(t10), n2: live(t10) },
    expect: same('found', `live@${t10}`, [], 'consistent'),
  },
  {
    name: 'all replicas agree on a tombstone',
    replicas: { n0: tomb(t10), n1: tomb(t10), n2: tomb(t10) },
    expect: same('not-found', `tomb@${t10}`, [], 'consistent'),
  },
  {
    name: 'no replica has the object',
    replicas: { n0: null, n1: null, n2: null },
    expect: same('not-found', undefined, [], 'consistent'),
  },
  {
    name: 'seeds row 1: object never existed on some replicas → propagate',
    replicas: { n0: live(t10), n1: null, n2: null },
    expect: same(
      'found',
      `live@${t10}`,
      [`n1 <- live@${t10} if absent`, `n2 <- live@${t10} if absent`],
      'last-write-wins',
    ),
  },
  {
    name: 'seeds row 2: object out of date → update the stale replicas',
    replicas: { n0: live(t10), n1: live(t30), n2: live(t20) },
    expect: same(
      'found',
      `live@${t30}`,
      [`n0 <- live@${t30} if ${t10}`, `n2 <- live@${t30} if ${t20}`],
      'last-write-wins',
    ),
  },
  {
    name: 'seeds row 3a: deleted on some replicas, the delete is newer',
    replicas: { n0: tomb(t20), n1: live(t10), n2: live(t10) },
    expect: {
      NoAutomatedResolution: { answer: 'conflict', repairs: [], reason: 'deletion-conflict' },
      DeleteOnConflict: {
        answer: 'not-found',
        winner: `tomb@${t20}`,
        repairs: [`n1 <- tomb@${t20} if ${t10}`, `n2 <- tomb@${t20} if ${t10}`],
        reason: 'delete-on-conflict',
      },
      TimeBasedResolution: {
        answer: 'not-found',
        winner: `tomb@${t20}`,
        repairs: [`n1 <- tomb@${t20} if ${t10}`, `n2 <- tomb@${t20} if ${t10}`],
        reason: 'last-write-wins',
      },
    },
  },
  {
    name: 'seeds row 3b: deleted on some replicas, re-created later on others',
    replicas: { n0: tomb(t10), n1: live(t20), n2: null },
    expect: {
      NoAutomatedResolution: { answer: 'conflict', repairs: [], reason: 'deletion-conflict' },
      DeleteOnConflict: {
        answer: 'not-found',
        winner: `tomb@${STAMP}`,
        repairs: [
          `n0 <- tomb@${STAMP} if ${t10}`,
          `n1 <- tomb@${STAMP} if ${t20}`,
          `n2 <- tomb@${STAMP} if absent`,
        ],
        reason: 'delete-on-conflict',
      },
      TimeBasedResolution: {
        answer: 'found',
        winner: `live@${t20}`,
        repairs: [`n0 <- live@${t20} if ${t10}`, `n2 <- live@${t20} if absent`],
        reason: 'last-write-wins',
      },
    },
  },
  {
    name: 'tombstone on some, absent on others (no live copy read)',
    replicas: { n0: tomb(t10), n1: null, n2: null },
    expect: same(
      'not-found',
      `tomb@${t10}`,
      [`n1 <- tomb@${t10} if absent`, `n2 <- tomb@${t10} if absent`],
      'last-write-wins',
    ),
  },
  {
    name: 'tombstones of different versions',
    replicas: { n0: tomb(t10), n1: tomb(t30), n2: tomb(t20) },
    expect: same(
      'not-found',
      `tomb@${t30}`,
      [`n0 <- tomb@${t30} if ${t10}`, `n2 <- tomb@${t30} if ${t20}`],
      'last-write-wins',
    ),
  },
  {
    name: 'newest live between an older and a newer... live, tombstone, stale live',
    replicas: { n0: live(t30), n1: tomb(t20), n2: live(t10) },
    expect: {
      NoAutomatedResolution: { answer: 'conflict', repairs: [], reason: 'deletion-conflict' },
      DeleteOnConflict: {
        answer: 'not-found',
        winner: `tomb@${STAMP}`,
        repairs: [
          `n0 <- tomb@${STAMP} if ${t30}`,
          `n1 <- tomb@${STAMP} if ${t20}`,
          `n2 <- tomb@${STAMP} if ${t10}`,
        ],
        reason: 'delete-on-conflict',
      },
      TimeBasedResolution: {
        answer: 'found',
        winner: `live@${t30}`,
        repairs: [`n1 <- live@${t30} if ${t20}`, `n2 <- live@${t30} if ${t10}`],
        reason: 'last-write-wins',
      },
    },
  },
  {
    name: 'live and tombstone with the SAME version (impossible with unique stamps): delete kept',
    replicas: { n0: live(t20), n1: tomb(t20), n2: live(t20) },
    expect: {
      NoAutomatedResolution: { answer: 'conflict', repairs: [], reason: 'deletion-conflict' },
      DeleteOnConflict: {
        answer: 'not-found',
        winner: `tomb@${t20}`,
        repairs: [`n0 <- tomb@${t20} if ${t20}`, `n2 <- tomb@${t20} if ${t20}`],
        reason: 'delete-on-conflict',
      },
      TimeBasedResolution: {
        answer: 'not-found',
        winner: `tomb@${t20}`,
        repairs: [`n0 <- tomb@${t20} if ${t20}`, `n2 <- tomb@${t20} if ${t20}`],
        reason: 'last-write-wins',
      },
    },
  },
  {
    name: 'ties on (wall, logical) break by node name',
    replicas: { n0: live(v(20, 0, 'node-a')), n1: live(v(20, 0, 'node-b')), n2: null },
    expect: same(
      'found',
      `live@${v(20, 0, 'node-b')}`,
      [
        `n0 <- live@${v(20, 0, 'node-b')} if ${v(20, 0, 'node-a')}`,
        `n2 <- live@${v(20, 0, 'node-b')} if absent`,
      ],
      'last-write-wins',
    ),
  },
];

describe('repair table', () => {
  for (const row of rows) {
    for (const strategy of DELETION_STRATEGIES) {
      // Every way of choosing the full-read replica gives the same result.
      for (const full of Object.keys(row.replicas)) {
        it(`${strategy}: ${row.name} (full read on ${full})`, () => {
          const model = new ReplicaModel(row.replicas);
          const replicas = Object.keys(row.replicas);
          const { resolution } = resolveWithFetches(
            model,
            input(readReplies(model, replicas, full), strategy),
            { stamp },
          );
          const e = row.expect[strategy];
          if (resolution.kind !== 'resolved') throw new Error(resolution.kind);
          expect(resolution.answer.kind).toBe(e.answer);
          expect(resolution.reason).toBe(e.reason);
          expect(describeRepairs(resolution)).toEqual(e.repairs);
          const w = resolution.winner;
          expect(w === null ? undefined : `${w.deleted ? 'tomb' : 'live'}@${w.version}`).toBe(
            e.winner,
          );
          if (resolution.answer.kind === 'found') {
            expect(resolution.answer.record).toEqual(live(resolution.answer.digest.version));
          }
          if (resolution.answer.kind === 'conflict') {
            expect(resolution.answer.message).toBe(
              'cannot achieve consistency level "ALL": conflict: object has been deleted on another replica',
            );
          }
          // Every repair carries the FULL winning record (payload included for live objects).
          for (const r of repairsOf(resolution)) {
            expect(r.request.record).toEqual(
              r.request.record.deleted
                ? tomb(r.request.record.version)
                : live(r.request.record.version),
            );
          }
        });
      }
    }
  }
});

describe('TimeBasedResolution: the later version wins both ways', () => {
  // The seed document's example reads "deleted at 100, re-created at 90 → the recreation
  // wins", which contradicts its own rule; Weaviate's code (and this module) let the later one win.
  it('delete at 100, object written at 90 → deleted', () => {
    const r = resolveRead(
      input([fullReply('n0', live(v(90))), digestReply('n1', tomb(v(100)))], 'TimeBasedResolution'),
    );
    expect(r).toMatchObject({ kind: 'resolved', answer: { kind: 'not-found' } });
  });
  it('delete at 100, re-created at 110 → the object', () => {
    const r = resolveRead(
      input(
        [fullReply('n0', live(v(110))), digestReply('n1', tomb(v(100)))],
        'TimeBasedResolution',
      ),
    );
    expect(r).toMatchObject({ kind: 'resolved', answer: { kind: 'found' } });
  });
});

// -----------------------------------------------------------------------------------------------
// Fetching, HEAD, ONE, unavailability, validation

describe('resolveRead paths', () => {
  it('asks for the winner when it is only known by digest, then resolves with it', () => {
    const base = input(
      [fullReply('n0', live(t10)), digestReply('n1', live(t20)), digestReply('n2', live(t20))],
      'TimeBasedResolution',
    );
    expect(resolveRead(base)).toEqual({ kind: 'fetch', version: t20, from: ['n1', 'n2'] });
    const r = resolveRead(withFetched(base, 'n2', live(t20)));
    expect(r).toMatchObject({ kind: 'resolved', answer: { kind: 'found', record: live(t20) } });
    expect(describeRepairs(r)).toEqual([`n0 <- live@${t20} if ${t10}`]);
  });

  it('re-decides when the fetched winner changed meanwhile (no "source object changed" error)', () => {
    const base = input(
      [fullReply('n0', live(t10)), digestReply('n1', live(t20))],
      'TimeBasedResolution',
    );
    const r = resolveRead(withFetched(base, 'n1', live(t30)));
    expect(describeRepairs(r)).toEqual([`n0 <- live@${t30} if ${t10}`]);
  });

  it('HEAD (wantPayload: false) needs no fetch when the replicas agree', () => {
    const r = resolveRead(
      input([digestReply('n0', live(t10)), digestReply('n1', live(t10))], 'TimeBasedResolution', {
        wantPayload: false,
      }),
    );
    expect(r).toEqual({
      kind: 'resolved',
      answer: { kind: 'found', digest: digestOf(live(t10)), record: null },
      repairs: [],
      winner: digestOf(live(t10)),
      reason: 'consistent',
    });
  });

  it('HEAD still fetches the winner when a replica needs repairing (repairs carry full objects)', () => {
    const r = resolveRead(
      input([digestReply('n0', live(t10)), digestReply('n1', null)], 'TimeBasedResolution', {
        wantPayload: false,
      }),
    );
    expect(r).toEqual({ kind: 'fetch', version: t10, from: ['n0'] });
  });

  it('HEAD of a tombstone needs no fetch', () => {
    const r = resolveRead(
      input([digestReply('n0', tomb(t10)), digestReply('n1', null)], 'DeleteOnConflict', {
        wantPayload: false,
      }),
    );
    expect(r).toMatchObject({ kind: 'resolved', answer: { kind: 'not-found', tombstone: t10 } });
  });

  it('ONE reads a single replica and repairs nothing', () => {
    const r = resolveRead({
      id: ID,
      level: 'ONE',
      factor: 3,
      strategy: 'NoAutomatedResolution',
      replies: [fullReply('n2', live(t10))],
    });
    expect(r).toMatchObject({ kind: 'resolved', repairs: [], reason: 'consistent' });
  });

  it('fails with Weaviate`s text when fewer than `level` replicas answered (sorted failures)', () => {
    const r = resolveRead({
      id: ID,
      level: 'QUORUM',
      factor: 3,
      strategy: 'TimeBasedResolution',
      replies: [fullReply('n0', live(t10))],
      failures: [
        { replica: 'n2', reason: 'timeout' },
        { replica: 'n1', reason: 'connection refused' },
      ],
    });
    expect(r).toEqual({
      kind: 'unavailable',
      required: 2,
      received: 1,
      message:
        'cannot achieve consistency level "QUORUM": cannot reach enough replicas: required 2 ' +
        'replicas, got 1: replica "n1": connection refused (and 1 more errors)',
    });
    expect(readVerdict(r)).toBe('unavailable');
  });

  it('counts the requirement over the factor, not over the replies offered', () => {
    const replies = [fullReply('n0', live(t10)), digestReply('n1', live(t10))];
    expect(
      resolveRead({ id: ID, level: 'ALL', factor: 3, strategy: 'DeleteOnConflict', replies }),
    ).toMatchObject({ kind: 'unavailable', required: 3, received: 2 });
    expect(
      resolveRead({ id: ID, level: 'QUORUM', factor: 3, strategy: 'DeleteOnConflict', replies }),
    ).toMatchObject({ kind: 'resolved' });
  });

  it('uses extra replies beyond `level` (e.g. after retries)', () => {
    const r = resolveRead({
      id: ID,
      level: 'ONE',
      factor: 3,
      strategy: 'TimeBasedResolution',
      replies: [fullReply('n0', live(t10)), digestReply('n1', null)],
    });
    expect(describeRepairs(r)).toEqual([`n1 <- live@${t10} if absent`]);
  });

  it('a refused repair is folded back in and resolved against the replica`s new state', () => {
    const base = input(
      [fullReply('n0', live(t20)), digestReply('n1', live(t10))],
      'TimeBasedResolution',
    );
    // n1 got a newer write (t30) before the repair arrived: the repair is refused with that digest.
    const again = resolveRead(withRepairOutcome(base, 'n1', digestOf(live(t30))));
    expect(again).toEqual({ kind: 'fetch', version: t30, from: ['n1'] });
  });

  it('DeleteOnConflict stamps only when a live copy is newer than every tombstone', () => {
    let calls = 0;
    const counting = (): EncodedVersion => {
      calls++;
      return STAMP;
    };
    resolveRead(
      input([fullReply('n0', tomb(t20)), digestReply('n1', live(t10))], 'DeleteOnConflict'),
      { stamp: counting },
    );
    expect(calls).toBe(0);
    resolveRead(
      input([fullReply('n0', tomb(t10)), digestReply('n1', live(t20))], 'DeleteOnConflict'),
      { stamp: counting },
    );
    expect(calls).toBe(1);
  });

  it('DeleteOnConflict without a stamp function is a programming error', () => {
    const i = input([fullReply('n0', tomb(t10)), digestReply('n1', live(t20))], 'DeleteOnConflict');
    expect(() => resolveRead(i)).toThrow(/needs a fresh version/);
  });

  it('DeleteOnConflict with a clock that cannot stamp above the live copy: answers, defers repair', () => {
    const i = input(
      [fullReply('n0', tomb(t10)), digestReply('n1', live(t30)), digestReply('n2', tomb(t20))],
      'DeleteOnConflict',
    );
    expect(resolveRead(i, { stamp: () => t20 })).toEqual({
      kind: 'resolved',
      answer: { kind: 'not-found', tombstone: t20 },
      repairs: [],
      winner: null,
      reason: 'delete-on-conflict',
      deferred:
        `cannot stamp a delete newer than ${t30} (got ${t20}): clock skew; repair left to a ` +
        'later read or anti-entropy',
    });
  });

  it('rejects malformed input', () => {
    expect(() =>
      resolveRead(
        input([fullReply('n0', live(t10)), digestReply('n0', live(t10))], 'DeleteOnConflict'),
      ),
    ).toThrow(/two replies from replica "n0"/);
    expect(() =>
      resolveRead(input([fullReply('n0', live(t10, 'x', 'other-id'))], 'DeleteOnConflict')),
    ).toThrow(/answered for other-id/);
    expect(() =>
      resolveRead(
        input([fullReply('n0', live(t10))], 'DeleteOnConflict', {
          failures: [{ replica: 'n0', reason: 'x' }],
        }),
      ),
    ).toThrow(/both answered and failed/);
    expect(() =>
      resolveRead(
        input(
          [fullReply('n0', { id: ID, version: t10, deleted: true, payload: Buffer.from('x') })],
          'DeleteOnConflict',
        ),
      ),
    ).toThrow(/payload\/deleted mismatch/);
    expect(() =>
      resolveRead(
        input(
          [fullReply('n0', tomb(t10)), digestReply('n1', live(t20))],
          'Whatever' as DeletionStrategy,
        ),
      ),
    ).toThrow(/unknown deletion strategy/);
  });
});

describe('client statuses per endpoint (Weaviate)', () => {
  it('has the documented table', () => {
    expect(READ_STATUS).toEqual({
      get: { found: 200, 'not-found': 404, conflict: 500, unavailable: 500 },
      head: { found: 204, 'not-found': 404, conflict: 404, unavailable: 500 },
      patch: { found: 204, 'not-found': 404, conflict: 404, unavailable: 500 },
    });
    expect(LIST_ACTION).toEqual({
      found: 'include',
      'not-found': 'omit',
      conflict: 'include-inconsistent',
      unavailable: 'include-inconsistent',
    });
    expect(deletionConflictMessage('QUORUM')).toBe(
      'cannot achieve consistency level "QUORUM": conflict: object has been deleted on another replica',
    );
  });

  it('gives a verdict only for final resolutions', () => {
    const fetch = resolveRead(
      input([fullReply('n0', null), digestReply('n1', live(t10))], 'TimeBasedResolution'),
    );
    expect(() => readVerdict(fetch)).toThrow(/fetch the winner first/);
    const conflict = resolveRead(
      input([fullReply('n0', tomb(t10)), digestReply('n1', live(t20))], 'NoAutomatedResolution'),
    );
    expect(readVerdict(conflict)).toBe('conflict');
    expect(READ_STATUS.get[readVerdict(conflict)]).toBe(500);
    expect(READ_STATUS.head[readVerdict(conflict)]).toBe(404);
  });
});

// -----------------------------------------------------------------------------------------------
// Compare-and-set against concurrent writes

describe('repair never clobbers a concurrent newer write', () => {
  for (const strategy of DELETION_STRATEGIES) {
    it(`${strategy}: a write landing between the read and the repair survives`, () => {
      const model = new ReplicaModel({ n0: live(t20), n1: live(t10), n2: null });
      const replicas = ['n0', 'n1', 'n2'];
      let k = 0;
      const { resolution, rounds } = readAndRepair(
        model,
        input(readReplies(model, replicas, 'n0'), strategy),
        { stamp: () => v(9_000 + k++, 0, 'coord') },
        () => {
          // A client write reaches n1 (ifNewer) after the coordinator read it.
          model.write('n1', { record: live(t30), condition: { kind: 'ifNewer' } });
        },
      );
      expect(rounds).toBe(2);
      expect(resolution).toMatchObject({ kind: 'resolved', answer: { kind: 'found' } });
      for (const r of replicas) expect(model.get(r)).toEqual(live(t30));
    });
  }

  it('a delete racing a TimeBased repair of an older live copy wins', () => {
    const model = new ReplicaModel({ n0: live(t20), n1: live(t10) });
    const { resolution } = readAndRepair(
      model,
      input(readReplies(model, ['n0', 'n1'], 'n0'), 'TimeBasedResolution'),
      {},
      () => model.write('n1', { record: tomb(t30), condition: { kind: 'ifNewer' } }),
    );
    expect(resolution).toMatchObject({ kind: 'resolved', answer: { kind: 'not-found' } });
    expect(model.snapshot()).toEqual({ n0: tomb(t30), n1: tomb(t30) });
  });
});

// -----------------------------------------------------------------------------------------------
// Seeded properties

const seed = seedFrom('REPLICATION_SEED', 'replication resolution');
const LEVELS: readonly ConsistencyLevel[] = ['ONE', 'QUORUM', 'ALL'];

function randomRecord(random: () => number): StoredRecord | null {
  const r = random();
  if (r < 0.25) return null;
  // Few distinct versions so that equal versions (and the live/tombstone tie) occur.
  const version = v(pick([10, 20, 30], random), 0, pick(['node-0', 'node-1'], random));
  return r < 0.65 ? live(version) : tomb(version);
}

interface Scenario {
  strategy: DeletionStrategy;
  level: ConsistencyLevel;
  factor: number;
  initial: Record<string, StoredRecord | null>;
  read: string[];
  full: string | undefined;
  failures: { replica: string; reason: string }[];
}

function randomScenario(random: () => number): Scenario {
  const factor = 1 + Math.floor(random() * 5);
  const level = pick(LEVELS, random);
  const strategy = pick(DELETION_STRATEGIES, random);
  const names = Array.from({ length: factor }, (_, i) => `n${i}`);
  const initial = Object.fromEntries(names.map((n) => [n, randomRecord(random)]));
  const required = requiredAcks(level, factor);
  // Usually enough replies; sometimes fewer (unavailable).
  const count =
    random() < 0.1
      ? Math.floor(random() * required)
      : required + Math.floor(random() * (factor - required + 1));
  const read = shuffle(names, random).slice(0, count);
  const full = random() < 0.9 && read.length > 0 ? pick(read, random) : undefined;
  const failures = names
    .filter((n) => !read.includes(n) && random() < 0.5)
    .map((replica) => ({ replica, reason: pick(['timeout', 'connection refused'], random) }));
  return { strategy, level, factor, initial, read, full, failures };
}

function scenarioInput(s: Scenario, model: ReplicaModel, order: string[]): ReadInput {
  return {
    id: ID,
    level: s.level,
    factor: s.factor,
    strategy: s.strategy,
    replies: readReplies(model, order, s.full),
    failures: s.failures,
  };
}

function checkRules(s: Scenario, resolution: ReadResolution, where: string): void {
  if (resolution.kind === 'unavailable') {
    if (s.read.length >= requiredAcks(s.level, s.factor)) throw new Error(`${where}: unavailable`);
    return;
  }
  if (resolution.kind === 'fetch') throw new Error(`${where}: unresolved fetch`);
  const records = s.read.map((r) => s.initial[r]!).filter((r): r is StoredRecord => r !== null);
  const tombs = records.filter((r) => r.deleted);
  const lives = records.filter((r) => !r.deleted);
  const max = (xs: StoredRecord[]): string | undefined =>
    xs
      .map((x) => x.version)
      .reduce<string | undefined>((a, b) => (a === undefined || b > a ? b : a), undefined);
  const answer = resolution.answer.kind;
  if (tombs.length > 0 && lives.length > 0) {
    const expected = {
      NoAutomatedResolution: 'conflict',
      DeleteOnConflict: 'not-found',
      // The later version wins; at equal versions the tombstone.
      TimeBasedResolution: max(lives)! > max(tombs)! ? 'found' : 'not-found',
    }[s.strategy];
    if (answer !== expected) throw new Error(`${where}: ${answer}, expected ${expected}`);
    if (s.strategy === 'NoAutomatedResolution' && resolution.repairs.length > 0) {
      throw new Error(`${where}: repaired a deletion conflict under NoAutomatedResolution`);
    }
  } else if (lives.length > 0) {
    if (answer !== 'found') throw new Error(`${where}: ${answer} with only live copies`);
    if (resolution.answer.kind === 'found' && resolution.answer.digest.version !== max(lives)) {
      throw new Error(`${where}: found an older version`);
    }
  } else if (answer !== 'not-found') {
    throw new Error(`${where}: ${answer} without live copies`);
  }
  // Repairs: only replicas read, each expecting what it reported, never moving it backwards.
  for (const repair of resolution.repairs) {
    if (!s.read.includes(repair.replica)) throw new Error(`${where}: repair of unread replica`);
    const before = s.initial[repair.replica]!;
    const c = repair.request.condition;
    if (c.kind !== 'ifVersion' || c.expected !== (before?.version ?? null)) {
      throw new Error(`${where}: repair of ${repair.replica} not conditional on what it reported`);
    }
    if (
      before !== null &&
      compareDigests(digestOf(repair.request.record)!, digestOf(before)!) <= 0
    ) {
      throw new Error(`${where}: repair would move ${repair.replica} backwards`);
    }
  }
}

describe('resolution properties (seeded)', () => {
  const RUNS = Number(process.env.REPLICATION_RUNS ?? 3_000);

  it(`${RUNS} random scenarios: rules, order independence, idempotence, convergence`, () => {
    const random = prng(seed);
    const counts: Record<string, number> = {};
    for (let run = 0; run < RUNS; run++) {
      const s = randomScenario(random);
      const where = `seed=${seed} run=${run} ${JSON.stringify({ ...s, initial: undefined })}`;
      const model = new ReplicaModel(s.initial);

      // 1. Same replies in any order (and failures in any order) → the same resolution.
      const reference = resolveWithFetches(model, scenarioInput(s, model, s.read), { stamp });
      for (let p = 0; p < 3; p++) {
        const permuted = {
          ...scenarioInput(s, model, shuffle(s.read, random)),
          failures: shuffle(s.failures, random),
        };
        const other = resolveWithFetches(model, permuted, { stamp });
        expect(other.resolution).toEqual(reference.resolution);
      }
      checkRules(s, reference.resolution, where);
      const kind =
        reference.resolution.kind === 'resolved'
          ? `${s.strategy}:${reference.resolution.reason}`
          : reference.resolution.kind;
      counts[kind] = (counts[kind] ?? 0) + 1;
      if (reference.resolution.kind !== 'resolved') continue;

      // 2. Apply the plan; the replicas read now agree (unless a refused deletion conflict).
      let k = 0;
      const stamps = (): EncodedVersion => v(9_000 + k++, 0, 'coord');
      const first = readAndRepair(model, scenarioInput(s, model, s.read), { stamp: stamps });
      expect(first.rounds).toBe(1); // nothing concurrent: no repair is refused
      const after = s.read.map((r) => JSON.stringify(digestOf(model.get(r))));
      const conflict = reference.resolution.answer.kind === 'conflict';
      if (!conflict && new Set(after).size > 1) throw new Error(`${where}: did not converge`);

      // 3. Idempotent: reading again repairs nothing and answers the same.
      const again = resolveWithFetches(model, scenarioInput(s, model, s.read), { stamp: stamps });
      if (again.resolution.kind !== 'resolved')
        throw new Error(`${where}: ${again.resolution.kind}`);
      expect(again.resolution.repairs).toEqual([]);
      expect(again.resolution.answer.kind).toBe(reference.resolution.answer.kind);
      expect(again.resolution.reason).toBe(conflict ? 'deletion-conflict' : 'consistent');
      for (const r of Object.keys(s.initial)) {
        if (!s.read.includes(r)) expect(model.get(r)).toEqual(s.initial[r]); // unread: untouched
      }
    }
    // The generator reaches every interesting branch.
    for (const strategy of DELETION_STRATEGIES) {
      expect(counts[`${strategy}:consistent`]).toBeGreaterThan(0);
      expect(counts[`${strategy}:last-write-wins`]).toBeGreaterThan(0);
    }
    expect(counts['NoAutomatedResolution:deletion-conflict']).toBeGreaterThan(0);
    expect(counts['DeleteOnConflict:delete-on-conflict']).toBeGreaterThan(0);
    expect(counts['unavailable']).toBeGreaterThan(0);
  });

  it('with a concurrent write during repair: it is never clobbered and the read converges', () => {
    const random = prng(seed ^ 0x5a5a5a5a);
    let tested = 0;
    for (let run = 0; run < 1_000; run++) {
      const s = randomScenario(random);
      if (s.read.length < requiredAcks(s.level, s.factor) || s.read.length === 0) continue;
      const where = `seed=${seed} concurrent run=${run}`;
      const model = new ReplicaModel(s.initial);
      const target = pick(s.read, random);
      const concurrent = random() < 0.5 ? live(v(40 + run)) : tomb(v(40 + run));
      let k = 0;
      let targeted = false;
      const { resolution } = readAndRepair(
        model,
        scenarioInput(s, model, s.read),
        { stamp: () => v(90_000 + k++, 0, 'coord') },
        (first) => {
          targeted = first.kind === 'resolved' && first.repairs.some((r) => r.replica === target);
          model.write(target, { record: concurrent, condition: { kind: 'ifNewer' } });
        },
      );
      if (resolution.kind !== 'resolved') throw new Error(`${where}: ${resolution.kind}`);
      // Whatever happened, nothing overwrote the concurrent write with older data.
      const held = model.get(target)!;
      if (held.version < concurrent.version) throw new Error(`${where}: clobbered`);
      // A read whose repair did not touch that replica simply did not notice the write: it was
      // concurrent with the read. One whose repair did must end up deciding with it.
      if (!targeted) continue;
      tested++;
      if (resolution.answer.kind === 'conflict') continue;
      const w = resolution.winner!;
      if (w.version < concurrent.version) throw new Error(`${where}: winner older than the write`);
      // DeleteOnConflict may legitimately stamp a newer tombstone over a concurrent live write.
      if (s.strategy !== 'DeleteOnConflict' && w.deleted !== concurrent.deleted) {
        throw new Error(`${where}: winner ${JSON.stringify(w)} is not the concurrent write`);
      }
      const digests = s.read.map((r) => JSON.stringify(digestOf(model.get(r))));
      if (new Set(digests).size > 1) throw new Error(`${where}: did not converge`);
    }
    expect(tested).toBeGreaterThan(100);
  });

  it('exhaustively over 3 replicas × 7 states each: every strategy, every full-read choice', () => {
    const states: (StoredRecord | null)[] = [
      null,
      live(t10),
      live(t20),
      live(t30),
      tomb(t10),
      tomb(t20),
      tomb(t30),
    ];
    let cases = 0;
    for (const a of states) {
      for (const b of states) {
        for (const c of states) {
          for (const strategy of DELETION_STRATEGIES) {
            for (const read of combinations(['n0', 'n1', 'n2'], 2).concat([['n0', 'n1', 'n2']])) {
              const s: Scenario = {
                strategy,
                level: read.length === 3 ? 'ALL' : 'QUORUM',
                factor: 3,
                initial: { n0: a, n1: b, n2: c },
                read,
                full: read[0],
                failures: [],
              };
              const model = new ReplicaModel(s.initial);
              const { resolution } = resolveWithFetches(model, scenarioInput(s, model, read), {
                stamp,
              });
              checkRules(s, resolution, `exhaustive ${JSON.stringify(s)}`);
              cases++;
            }
          }
        }
      }
    }
    expect(cases).toBe(7 ** 3 * 3 * 4);
  });
});
