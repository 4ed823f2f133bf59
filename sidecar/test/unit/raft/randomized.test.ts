/**
 * Randomized runs over the in-process network: random ticks, proposals, reads, leadership
 * transfers, message loss, duplication and reordering, partitions, compactions and crash-restarts
 * (a crash loses whatever the node had not yet handed to its driver), and membership churn: a
 * spare node with empty storage is added as a learner, promoted, and then one of the founders
 * (perhaps the leader) is removed. The harness checks election safety, leader completeness and
 * state-machine safety on every step; log matching is checked periodically. Each run ends with
 * the network healed, and must then make progress (liveness).
 *
 * Seeded: the seed is logged; replay with RAFT_SEED=<seed>. A failure names the run's own seed.
 */
import { RequestRejectedError } from '../../../src/raft/core/index.js';
import type { ConfChange, ConfState, Entry } from '../../../src/raft/types.js';
import { prng, seedFrom } from '../../support/random.js';
import { Cluster } from './harness.js';

const seed = seedFrom('RAFT_SEED', 'raft randomized');
/** More runs for a local stress session: RAFT_RUNS=500. */
const RUNS_PER_SIZE = Number(process.env.RAFT_RUNS ?? 4);
/** Replays one failed run: RAFT_RUN_SEED=<the run seed named in the failure>. */
const REPLAY_RUN = process.env.RAFT_RUN_SEED;
const STEPS = 5000;

interface RunSummary {
  terms: number;
  committed: number;
  membershipDone: boolean;
}

function runRandomized(size: number, runSeed: number): RunSummary {
  const progress = { step: 0 };
  try {
    return simulate(size, runSeed, progress);
  } catch (error) {
    const where = progress.step < STEPS ? `step=${progress.step}` : 'liveness phase';
    throw new Error(`seed=${runSeed} size=${size} ${where}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

function simulate(size: number, runSeed: number, progress: { step: number }): RunSummary {
  const random = prng(runSeed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const founders = Array.from({ length: size }, (_, i) => `n${i + 1}`);
  const c = new Cluster({ voters: founders, seed: runSeed, electionTick: 10, heartbeatTick: 2 });
  c.recordDeliveries = false;
  const spare = `n${size + 1}`;
  c.addNode(spare);
  const ids = [...founders, spare];
  const membershipPlan: ConfChange[] = [
    { type: 'addLearner', node: spare },
    { type: 'addVoter', node: spare },
    { type: 'removeNode', node: pick(founders) },
  ];
  let reads = 0;

  const actions: [weight: number, action: () => void][] = [
    // Time passes for everyone (slowly enough that messages usually arrive within a heartbeat).
    [8, () => ids.forEach((id) => c.tick(id))],
    // One node's driver handles its Ready.
    [25, () => c.processReady(pick(ids))],
    // The network delivers, loses or duplicates one message, in random order.
    [
      55,
      () => {
        if (c.inFlight.length === 0) return;
        const [m] = c.inFlight.splice(Math.floor(random() * c.inFlight.length), 1);
        if (random() < 0.1) return;
        c.deliver(m!);
        if (random() < 0.02) c.deliver(m!);
      },
    ],
    [
      6,
      () => {
        const target = random() < 0.8 ? (c.leader() ?? pick(ids)) : pick(ids);
        attempt(() => c.propose(target, `v${runSeed}-${random().toString(36).slice(2, 8)}`));
      },
    ],
    [1, () => attempt(() => c.node(pick(ids)).readIndex(`read-${reads++}`))],
    [0.2, () => attempt(() => c.node(c.leader() ?? pick(ids)).transferLeadership(pick(ids)))],
    [
      0.3,
      () => {
        const leader = c.leader();
        const next = leader && nextChange(membershipPlan, c.status(leader).confState);
        if (next) attempt(() => c.proposeConfChange(leader, next));
      },
    ],
    [
      1,
      () => {
        const roll = random();
        if (roll < 0.4) c.heal();
        else if (roll < 0.7) c.isolate(pick(ids));
        else {
          const shuffled = [...ids].sort(() => random() - 0.5);
          const cut = 1 + Math.floor(random() * (ids.length - 1));
          c.heal();
          c.partition(shuffled.slice(0, cut), shuffled.slice(cut));
        }
      },
    ],
    [
      0.5,
      () => {
        const sim = c.sim(pick(ids));
        if (sim.appliedIndex > sim.storage.snapshot().metadata.index) c.compact(sim.id);
      },
    ],
    [0.3, () => c.restart(pick(ids))],
  ];
  const totalWeight = actions.reduce((sum, [weight]) => sum + weight, 0);

  for (; progress.step < STEPS; progress.step++) {
    let roll = random() * totalWeight;
    const action = actions.find(([weight]) => (roll -= weight) < 0) ?? actions[0]!;
    action[1]();
    if (progress.step % 100 === 0) c.checkLogMatching();
  }

  // Liveness: with the network healed, a new entry commits on every member. A deposed leader
  // may still accept the proposal and lose it; once a leader of a later term lacks the entry it
  // can never commit (Leader Completeness), so propose again — as a driver would.
  c.heal();
  let final: Entry | undefined;
  let conf: ConfState = { voters: [], learners: [] };
  let members: string[] = [];
  c.tickUntil(() => {
    const leader = c.leader();
    if (!leader) return false;
    conf = c.status(leader).confState;
    members = [...conf.voters, ...conf.learners];
    if (final) {
      const { index, term } = final;
      const lost = c.status(leader).term > term && c.node(leader).termAt(index) !== term;
      if (lost) final = undefined;
      else if (members.every((id) => c.sim(id).appliedIndex >= index)) return true;
    }
    final ??= attempt(() => c.propose(leader, 'final'));
    return false;
  }, 300);
  for (const id of members) expect(c.node(id).termAt(final!.index)).toBe(final!.term);
  const { index } = final!;
  c.checkLogMatching();
  const states = members.map((id) => c.sim(id).state.join());
  expect(new Set(states).size).toBe(1);
  const membershipDone = nextChange(membershipPlan, conf) === undefined;
  return { terms: c.status(c.leader()!).term, committed: index, membershipDone };
}

/** The first change of `plan` that `conf` does not reflect yet. */
function nextChange(plan: readonly ConfChange[], conf: ConfState): ConfChange | undefined {
  const done = (change: ConfChange): boolean => {
    const isVoter = conf.voters.includes(change.node);
    const isLearner = conf.learners.includes(change.node);
    if (change.type === 'addLearner') return isLearner || isVoter;
    if (change.type === 'addVoter') return isVoter;
    return !isVoter && !isLearner;
  };
  return plan.find((change) => !done(change));
}

/** Requests are refused routinely (not the leader, transfer in progress…): that is fine. */
function attempt<T>(request: () => T): T | undefined {
  try {
    return request();
  } catch (error) {
    if (!(error instanceof RequestRejectedError)) throw error;
    return undefined;
  }
}

describe('randomized Raft safety', () => {
  it.each([3, 5])('holds for %i nodes across seeded runs', (size) => {
    const runSeeds = prng((seed * 31 + size) >>> 0);
    const runSeedList = REPLAY_RUN
      ? [Number(REPLAY_RUN)]
      : Array.from({ length: RUNS_PER_SIZE }, () => Math.floor(runSeeds() * 2 ** 32));
    const runs = runSeedList.map((runSeed) => runRandomized(size, runSeed));
    // Guard against vacuous runs: elections happened, entries committed, membership changed.
    for (const { terms, committed } of runs) {
      expect(terms).toBeGreaterThan(2);
      expect(committed).toBeGreaterThan(2);
    }
    const meanCommitted = runs.reduce((sum, run) => sum + run.committed, 0) / runs.length;
    expect(meanCommitted).toBeGreaterThan(30);
    // Membership churn completes in most runs but not all (faults may stall it): report it,
    // and keep the assertion deterministic by not requiring it of a random sample of seeds.
    const churned = runs.filter((run) => run.membershipDone).length;
    console.log(`${size} nodes: membership churn completed in ${churned} of ${runs.length} runs`);
  });
});
