/**
 * WritePlan: exact scenarios, an exhaustive table (every level × factor 1..5 × every combination
 * of per-replica behaviour), supersession, and seeded random interleavings (reordering,
 * duplicates, late replies after the deadline) checked against the protocol's invariants.
 * Replay the randomized part with REPLICATION_SEED=<seed>.
 */
import {
  CONSISTENCY_LEVELS,
  WritePlan,
  requiredAcks,
  type ConsistencyLevel,
  type WriteEffect,
  type WriteOutcome,
} from '../../../src/replication/index.js';
import { prng, seedFrom } from '../../support/random.js';
import { pick, shuffle, v } from './helpers.js';

const VERSION = v(1_000, 0, 'coord');
const seed = seedFrom('REPLICATION_SEED', 'replication write-plan');

function plan(replicas: string[], level: ConsistencyLevel, extra = {}): WritePlan {
  return new WritePlan({ replicas, level, version: VERSION, ...extra });
}

function answerOf(effects: WriteEffect[]): WriteOutcome | undefined {
  const a = effects.find((e) => e.kind === 'answer');
  return a?.kind === 'answer' ? a.outcome : undefined;
}

describe('WritePlan scenarios', () => {
  it('ifAbsent: a prepared replica holding a live copy aborts everywhere and answers exists', () => {
    const p = plan(['n0', 'n1', 'n2'], 'QUORUM', { ifAbsent: true });
    p.start();
    expect(p.prepareAck('n0')).toEqual([]);
    expect(p.prepareAck('n2', undefined, true)).toEqual([
      { kind: 'abort', replicas: ['n0', 'n1', 'n2'] },
      { kind: 'answer', outcome: { kind: 'exists', required: 2, replica: 'n2' } },
    ]);
    // A later prepare gets its abort; the answer stands.
    expect(p.prepareAck('n1')).toEqual([{ kind: 'abort', replicas: ['n1'] }]);
    expect(p.settled).toBe(true);
  });

  it('ifAbsent: a live copy reported after the decision does not undo the commit', () => {
    const p = plan(['n0', 'n1', 'n2'], 'QUORUM', { ifAbsent: true });
    p.start();
    p.prepareAck('n0');
    expect(p.prepareAck('n1')).toEqual([{ kind: 'commit', replicas: ['n0', 'n1'] }]);
    expect(p.prepareAck('n2', undefined, true)).toEqual([{ kind: 'commit', replicas: ['n2'] }]);
  });

  it('without ifAbsent a live copy is an upsert', () => {
    const p = plan(['n0'], 'ONE');
    p.start();
    expect(p.prepareAck('n0', undefined, true)).toEqual([{ kind: 'commit', replicas: ['n0'] }]);
    expect(p.commitAck('n0')).toEqual([
      { kind: 'answer', outcome: { kind: 'ok', required: 1, committed: 1 } },
    ]);
    expect(p.committedCount).toBe(1);
  });

  it('QUORUM over 3: prepare all, commit the prepared once 2 are in, answer after 2 commits', () => {
    const p = plan(['n0', 'n1', 'n2'], 'QUORUM');
    expect(p.start()).toEqual([{ kind: 'prepare', replicas: ['n0', 'n1', 'n2'] }]);
    expect(p.prepareAck('n1')).toEqual([]);
    expect(p.prepareAck('n0')).toEqual([{ kind: 'commit', replicas: ['n0', 'n1'] }]);
    expect(p.phase).toBe('committing');
    // A late prepare still gets its commit, so it does not sit staged until the TTL.
    expect(p.prepareAck('n2')).toEqual([{ kind: 'commit', replicas: ['n2'] }]);
    expect(p.commitAck('n2')).toEqual([]);
    expect(p.commitAck('n0')).toEqual([
      { kind: 'answer', outcome: { kind: 'ok', required: 2, committed: 2 } },
    ]);
    expect(p.settled).toBe(false); // n1's commit reply is still outstanding
    expect(p.commitAck('n1')).toEqual([]);
    expect(p.settled).toBe(true);
    expect(p.outcome).toEqual({ kind: 'ok', required: 2, committed: 2 });
  });

  it('aborts everywhere as soon as `level` prepares cannot arrive, in Weaviate words', () => {
    const p = plan(['n0', 'n1', 'n2'], 'QUORUM');
    p.start();
    expect(p.prepareNack('n2', 'shard not found')).toEqual([]);
    expect(p.prepareAck('n0')).toEqual([]);
    expect(p.prepareNack('n1', 'staging area full')).toEqual([
      { kind: 'abort', replicas: ['n0', 'n1', 'n2'] },
      {
        kind: 'answer',
        outcome: {
          kind: 'failed',
          phase: 'prepare',
          required: 2,
          received: 1,
          failures: [
            { replica: 'n2', reason: 'shard not found' },
            { replica: 'n1', reason: 'staging area full' },
          ],
          message:
            'cannot reach enough replicas: required 2 replicas, got 1: replica "n2": shard not ' +
            'found (and 1 more errors)',
          maybeApplied: false,
        },
      },
    ]);
    expect(p.phase).toBe('aborted');
  });

  it('a prepare ack after the abort gets its own abort (its abort may have overtaken it)', () => {
    const p = plan(['n0', 'n1', 'n2'], 'ALL');
    p.start();
    p.prepareNack('n0', 'down');
    expect(p.prepareAck('n1')).toEqual([{ kind: 'abort', replicas: ['n1'] }]);
  });

  it('times out: outstanding prepares count as failed', () => {
    const p = plan(['n0', 'n1', 'n2'], 'QUORUM');
    p.start();
    p.prepareAck('n0');
    const effects = p.timeout();
    expect(effects[0]).toEqual({ kind: 'abort', replicas: ['n0', 'n1', 'n2'] });
    expect(answerOf(effects)).toMatchObject({
      kind: 'failed',
      phase: 'prepare',
      received: 1,
      message:
        'cannot reach enough replicas: required 2 replicas, got 1: replica "n1": timeout ' +
        '(and 1 more errors)',
    });
    // Late replies after the deadline: aborted again; the answer does not change.
    expect(p.prepareAck('n1')).toEqual([{ kind: 'abort', replicas: ['n1'] }]);
    expect(p.outcome?.kind).toBe('failed');
  });

  it('commit shortfall: the client is told the write may be partially applied', () => {
    const p = plan(['n0', 'n1', 'n2'], 'ALL');
    p.start();
    p.prepareAck('n0');
    p.prepareAck('n1');
    expect(p.prepareAck('n2')).toEqual([{ kind: 'commit', replicas: ['n0', 'n1', 'n2'] }]);
    p.commitAck('n0');
    expect(answerOf(p.commitNack('n1', 'request not found'))).toEqual({
      kind: 'failed',
      phase: 'commit',
      required: 3,
      received: 1,
      failures: [{ replica: 'n1', reason: 'request not found' }],
      message:
        'cannot reach enough replicas: required 3 replicas, got 1: replica "n1": request not found',
      maybeApplied: true,
    });
    // No rollback, no further effect.
    expect(p.commitAck('n2')).toEqual([]);
  });

  it('counts prepares that may still arrive before giving up in the commit phase', () => {
    const p = plan(['n0', 'n1', 'n2'], 'QUORUM');
    p.start();
    p.prepareAck('n0');
    p.prepareAck('n1'); // commit n0, n1; n2's prepare still outstanding
    expect(p.commitNack('n0', 'disk full')).toEqual([]); // n1 + a late n2 can still make 2
    expect(p.prepareAck('n2')).toEqual([{ kind: 'commit', replicas: ['n2'] }]);
    p.commitAck('n1');
    expect(answerOf(p.commitAck('n2'))).toEqual({ kind: 'ok', required: 2, committed: 2 });
  });

  it('gives up in the commit phase when a still-outstanding prepare is refused', () => {
    const p = plan(['n0', 'n1', 'n2'], 'QUORUM');
    p.start();
    p.prepareAck('n0');
    p.prepareAck('n1');
    p.commitNack('n0', 'disk full');
    expect(answerOf(p.prepareNack('n2', 'down'))).toMatchObject({
      kind: 'failed',
      phase: 'commit',
      received: 0,
    });
  });

  it('ignores duplicates and keeps the first reply of a replica', () => {
    const p = plan(['n0', 'n1'], 'ALL');
    p.start();
    p.prepareAck('n0');
    expect(p.prepareAck('n0')).toEqual([]);
    expect(p.prepareNack('n0', 'late error')).toEqual([]);
    p.prepareAck('n1');
    expect(p.commitAck('n0')).toEqual([]);
    expect(p.commitAck('n0')).toEqual([]);
    expect(answerOf(p.commitAck('n1'))).toMatchObject({ kind: 'ok', committed: 2 });
  });

  it('ONE over factor 1', () => {
    const p = plan(['solo'], 'ONE');
    p.start();
    expect(p.prepareAck('solo')).toEqual([{ kind: 'commit', replicas: ['solo'] }]);
    expect(answerOf(p.commitAck('solo'))).toEqual({ kind: 'ok', required: 1, committed: 1 });
  });

  it('counts over the factor: ALL over 3 with one replica down fails, whatever liveness says', () => {
    const p = plan(['n0', 'n1', 'n2'], 'ALL');
    p.start();
    p.prepareAck('n0');
    p.prepareAck('n1');
    expect(answerOf(p.prepareNack('n2', 'node is down'))).toMatchObject({
      kind: 'failed',
      required: 3,
      received: 2,
    });
  });

  it('refuses misuse', () => {
    expect(() => plan([], 'ONE')).toThrow(/at least one replica/);
    expect(() => plan(['a', 'a'], 'ONE')).toThrow(/duplicate replica/);
    const p = plan(['n0'], 'ONE');
    expect(() => p.prepareAck('n0')).toThrow(/not started/);
    expect(() => p.timeout()).toThrow(/not started/);
    p.start();
    expect(() => p.start()).toThrow(/already started/);
    expect(() => p.prepareAck('zz')).toThrow(/unknown replica "zz"/);
    expect(() => p.commitAck('zz')).toThrow(/unknown replica "zz"/);
    // A commit reply for a replica that was never sent a commit is ignored.
    expect(p.commitAck('n0')).toEqual([]);
  });
});

describe('WritePlan supersession (a replica holds a newer version)', () => {
  it('aborts and asks to restamp when a prepared replica reports a newer version', () => {
    const p = plan(['n0', 'n1', 'n2'], 'QUORUM');
    p.start();
    const newer = v(5_000, 0, 'node-x');
    expect(p.prepareAck('n1', newer)).toEqual([]);
    expect(p.prepareAck('n0')).toEqual([
      { kind: 'abort', replicas: ['n0', 'n1', 'n2'] },
      {
        kind: 'answer',
        outcome: {
          kind: 'superseded',
          required: 2,
          newer,
          replica: 'n1',
          message:
            `replica "n1" holds version ${newer} of the object, newer than this write's ` +
            `${VERSION}: clock skew or a concurrent write`,
        },
      },
    ]);
    expect(p.prepareAck('n2')).toEqual([{ kind: 'abort', replicas: ['n2'] }]);
  });

  it('reports the newest of several newer versions', () => {
    const p = plan(['n0', 'n1', 'n2'], 'ALL');
    p.start();
    p.prepareAck('n0', v(3_000));
    p.prepareAck('n1', v(4_000));
    expect(answerOf(p.prepareAck('n2', v(2_000)))).toMatchObject({
      kind: 'superseded',
      newer: v(4_000),
      replica: 'n1',
    });
  });

  it('ignores an equal or older "newer" version (a resent write of itself)', () => {
    const p = plan(['n0', 'n1'], 'ALL');
    p.start();
    p.prepareAck('n0', VERSION);
    expect(p.prepareAck('n1', v(10))).toEqual([{ kind: 'commit', replicas: ['n0', 'n1'] }]);
  });

  it('can be disabled', () => {
    const p = plan(['n0', 'n1'], 'ONE', { onNewer: 'ignore' });
    p.start();
    expect(p.prepareAck('n0', v(9_999))).toEqual([{ kind: 'commit', replicas: ['n0'] }]);
  });

  it('a newer version reported after the decision does not undo the commit', () => {
    const p = plan(['n0', 'n1', 'n2'], 'QUORUM');
    p.start();
    p.prepareAck('n0');
    p.prepareAck('n1');
    expect(p.prepareAck('n2', v(9_999))).toEqual([{ kind: 'commit', replicas: ['n2'] }]);
  });

  it('quorum intersection: an acknowledged write at w is always detected by a write at r (r+w>n)', () => {
    const random = prng(seed ^ 0x1234_5678);
    let checked = 0;
    for (let run = 0; run < 2_000; run++) {
      const factor = 1 + Math.floor(random() * 5);
      const names = Array.from({ length: factor }, (_, i) => `n${i}`);
      const w = 1 + Math.floor(random() * factor);
      const r = pick(CONSISTENCY_LEVELS, random);
      const required = requiredAcks(r, factor);
      if (required + w <= factor) continue;
      // The earlier write (newer version than ours) is on a random set of w replicas.
      const holders = new Set(shuffle(names, random).slice(0, w));
      const p = plan(names, r);
      p.start();
      let outcome: WriteOutcome | undefined;
      for (const n of shuffle(names, random)) {
        outcome = answerOf(p.prepareAck(n, holders.has(n) ? v(2_000) : undefined)) ?? outcome;
        if (p.phase !== 'preparing') break;
      }
      expect(p.phase).toBe('aborted');
      expect(outcome?.kind).toBe('superseded');
      checked++;
    }
    expect(checked).toBeGreaterThan(500);
  });
});

// -----------------------------------------------------------------------------------------------
// Exhaustive table: every level × factor 1..5 × per-replica behaviour

type Behaviour = 'prepare-nack' | 'prepare-silent' | 'commit-ack' | 'commit-nack' | 'commit-silent';
const BEHAVIOURS: readonly Behaviour[] = [
  'prepare-nack',
  'prepare-silent',
  'commit-ack',
  'commit-nack',
  'commit-silent',
];

function* assignments(n: number): Generator<Behaviour[]> {
  if (n === 0) {
    yield [];
    return;
  }
  for (const rest of assignments(n - 1)) for (const b of BEHAVIOURS) yield [...rest, b];
}

/** Delivers every reply in replica order (prepares, then commits), then the deadline if needed. */
function runCanonical(
  level: ConsistencyLevel,
  behaviours: Behaviour[],
): { effects: WriteEffect[]; outcome: WriteOutcome | undefined; p: WritePlan } {
  const names = behaviours.map((_, i) => `n${i}`);
  const p = plan(names, level);
  const effects: WriteEffect[] = [...p.start()];
  const committed = new Set<string>();
  const collect = (es: WriteEffect[]): void => {
    effects.push(...es);
    for (const e of es) if (e.kind === 'commit') e.replicas.forEach((r) => committed.add(r));
  };
  behaviours.forEach((b, i) => {
    if (b === 'prepare-nack') collect(p.prepareNack(`n${i}`, `refused by n${i}`));
    else if (b !== 'prepare-silent') collect(p.prepareAck(`n${i}`));
  });
  behaviours.forEach((b, i) => {
    if (!committed.has(`n${i}`)) return;
    if (b === 'commit-ack') collect(p.commitAck(`n${i}`));
    if (b === 'commit-nack') collect(p.commitNack(`n${i}`, `commit failed on n${i}`));
  });
  if (!p.outcome) collect(p.timeout());
  return { effects, outcome: p.outcome, p };
}

describe('WritePlan exhaustive table', () => {
  for (const level of CONSISTENCY_LEVELS) {
    for (let factor = 1; factor <= 5; factor++) {
      it(`${level} over factor ${factor}: all ${BEHAVIOURS.length ** factor} combinations`, () => {
        const required = requiredAcks(level, factor);
        for (const behaviours of assignments(factor)) {
          const where = `${level} ${JSON.stringify(behaviours)}`;
          const { effects, outcome } = runCanonical(level, behaviours);
          const prepared = behaviours.filter((b) => b.startsWith('commit-')).length;
          const committed = behaviours.filter((b) => b === 'commit-ack').length;
          const answers = effects.filter((e) => e.kind === 'answer');
          expect(answers).toHaveLength(1);
          const commits = effects.flatMap((e) => (e.kind === 'commit' ? e.replicas : []));
          const aborts = effects.filter((e) => e.kind === 'abort');
          if (prepared < required) {
            // Answered as soon as `required` became impossible: maybe before every ack was in.
            expect({ where, outcome }).toMatchObject({
              outcome: { kind: 'failed', phase: 'prepare', maybeApplied: false },
            });
            if (outcome?.kind !== 'failed') throw new Error(where);
            expect(outcome.received).toBeLessThanOrEqual(prepared);
            expect(commits).toEqual([]);
            // Abort to all, then one more abort to each replica whose ack came after that.
            expect(aborts[0]).toEqual({
              kind: 'abort',
              replicas: behaviours.map((_, i) => `n${i}`),
            });
            expect(aborts.length - 1).toBe(prepared - outcome.received);
          } else {
            // Commit went to exactly the replicas that prepared, never an abort.
            expect(commits.sort()).toEqual(
              behaviours.flatMap((b, i) => (b.startsWith('commit-') ? [`n${i}`] : [])),
            );
            expect(aborts).toEqual([]);
            if (committed >= required) {
              expect({ where, outcome }).toEqual({
                where,
                outcome: { kind: 'ok', required, committed: required },
              });
            } else {
              expect({ where, outcome }).toMatchObject({
                outcome: { kind: 'failed', phase: 'commit', maybeApplied: true },
              });
              if (outcome?.kind !== 'failed') throw new Error(where);
              expect(outcome.received).toBeLessThanOrEqual(committed);
            }
          }
          if (outcome?.kind === 'failed') {
            const head = `cannot reach enough replicas: required ${required} replicas, got ${outcome.received}`;
            expect(outcome.message.startsWith(head)).toBe(true);
            expect(outcome.failures.length).toBeGreaterThan(0);
            const first = outcome.failures[0]!;
            expect(outcome.message).toContain(`: replica "${first.replica}": ${first.reason}`);
          }
        }
      });
    }
  }
});

// -----------------------------------------------------------------------------------------------
// Random interleavings

type Reply =
  | { kind: 'prepare-ack' | 'commit-ack'; replica: string }
  | { kind: 'prepare-nack' | 'commit-nack'; replica: string; reason: string };

function randomRun(runSeed: number): string {
  const random = prng(runSeed);
  const factor = 1 + Math.floor(random() * 5);
  const level = pick(CONSISTENCY_LEVELS, random);
  const names = Array.from({ length: factor }, (_, i) => `n${i}`);
  const required = requiredAcks(level, factor);
  const behaviour = new Map(names.map((n) => [n, pick(BEHAVIOURS, random)]));
  const late = new Map(names.map((n) => [n, random() < 0.3])); // "silent" ones may arrive late
  const p = plan(names, level);
  const where = `seed=${runSeed} ${level} ${JSON.stringify([...behaviour])}`;
  const fail = (msg: string): never => {
    throw new Error(`${where}: ${msg}`);
  };

  // What the test has seen.
  const prepareAcked = new Set<string>();
  const prepareFailed = new Set<string>();
  const commitSent = new Set<string>();
  const abortSent = new Set<string>();
  const commitAcked = new Set<string>();
  const commitFailed = new Set<string>();
  let answers = 0;
  let timedOut = false;
  const queue: Reply[] = [];
  const lateQueue: Reply[] = [];

  const possibleSuccess = (): boolean => {
    if (abortSent.size > 0) return false;
    const pendingPrepares = names.filter((n) => !prepareAcked.has(n) && !prepareFailed.has(n));
    if (commitSent.size === 0) return prepareAcked.size + pendingPrepares.length >= required;
    const pendingCommits = [...commitSent].filter(
      (n) => !commitAcked.has(n) && !commitFailed.has(n),
    );
    return commitAcked.size + pendingCommits.length + pendingPrepares.length >= required;
  };

  const apply = (effects: WriteEffect[]): void => {
    for (const e of effects) {
      if (e.kind === 'commit') {
        if (commitSent.size === 0 && prepareAcked.size < required) fail('commit before level');
        for (const r of e.replicas) {
          if (!prepareAcked.has(r)) fail(`commit to ${r} that did not prepare`);
          if (abortSent.has(r) || commitSent.has(r)) fail(`second decision for ${r}`);
          commitSent.add(r);
          const b = behaviour.get(r);
          const reply: Reply | undefined =
            b === 'commit-ack'
              ? { kind: 'commit-ack', replica: r }
              : b === 'commit-nack'
                ? { kind: 'commit-nack', replica: r, reason: 'commit failed' }
                : undefined;
          if (reply) (timedOut ? lateQueue : queue).push(reply);
          else if (late.get(r)) lateQueue.push({ kind: 'commit-ack', replica: r });
        }
      } else if (e.kind === 'abort') {
        for (const r of e.replicas) {
          if (commitSent.has(r)) fail(`abort after commit to ${r}`);
          abortSent.add(r);
        }
      } else if (e.kind === 'answer') {
        answers++;
        const o = e.outcome;
        if (o.kind === 'ok' && commitAcked.size !== required) fail(`ok with ${commitAcked.size}`);
        if (o.kind === 'failed' && possibleSuccess() && !timedOut) fail('gave up too early');
        if (o.kind === 'failed' && o.phase === 'prepare' && commitSent.size > 0) fail('phase');
      } else if (e.replicas.length !== names.length || answers > 0) {
        fail('prepare must go once to every replica, first');
      }
    }
  };

  apply(p.start());
  for (const n of names) {
    const b = behaviour.get(n)!;
    if (b === 'prepare-nack') queue.push({ kind: 'prepare-nack', replica: n, reason: 'refused' });
    else if (b === 'prepare-silent') {
      if (late.get(n)) lateQueue.push({ kind: 'prepare-ack', replica: n });
    } else queue.push({ kind: 'prepare-ack', replica: n });
  }
  const deliver = (reply: Reply): void => {
    const before = answers;
    switch (reply.kind) {
      case 'prepare-ack':
        if (!prepareFailed.has(reply.replica)) prepareAcked.add(reply.replica);
        apply(p.prepareAck(reply.replica));
        break;
      case 'prepare-nack':
        if (!prepareAcked.has(reply.replica)) prepareFailed.add(reply.replica);
        apply(p.prepareNack(reply.replica, reply.reason));
        break;
      case 'commit-ack':
        if (!commitFailed.has(reply.replica)) commitAcked.add(reply.replica);
        apply(p.commitAck(reply.replica));
        break;
      case 'commit-nack':
        if (!commitAcked.has(reply.replica)) commitFailed.add(reply.replica);
        apply(p.commitNack(reply.replica, reply.reason));
        break;
    }
    if (answers === before && answers === 0 && !possibleSuccess() && !timedOut) {
      fail(`no answer although success is impossible after ${JSON.stringify(reply)}`);
    }
  };

  const timeoutAt = random() < 0.5 ? Math.floor(random() * 6) : Infinity;
  let steps = 0;
  while (queue.length > 0) {
    if (steps++ === timeoutAt && !p.outcome) {
      timedOut = true;
      apply(p.timeout()); // from here on, replies are late: the answer is final
    }
    const [reply] = queue.splice(Math.floor(random() * queue.length), 1);
    deliver(reply!);
    if (random() < 0.1) deliver(reply!); // duplicate delivery
  }
  if (!p.outcome) {
    timedOut = true;
    apply(p.timeout());
  }
  for (const reply of shuffle(lateQueue, random)) deliver(reply);

  if (answers !== 1) fail(`${answers} answers`);
  // Nothing leaks: every replica that prepared got a commit or an abort.
  for (const r of prepareAcked) {
    if (!commitSent.has(r) && !abortSent.has(r)) fail(`${r} prepared and was left staged`);
  }
  const o = p.outcome!;
  return o.kind === 'failed' ? `failed-${o.phase}` : o.kind;
}

describe('WritePlan random interleavings (seeded)', () => {
  it('1500 runs: one answer, never early or late, commit only after level, nothing left staged', () => {
    const seen = new Set<string>();
    for (let run = 0; run < 1_500; run++) seen.add(randomRun((seed + run * 104_729) >>> 0));
    expect([...seen].sort()).toEqual(['failed-commit', 'failed-prepare', 'ok']);
  });
});
