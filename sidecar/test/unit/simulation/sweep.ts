/**
 * Seed sweeps for the simulation tests, and the environment that controls them:
 *
 *   SIM_SEEDS=<n>       seeds per cluster size in the sweeps (default DEFAULT_SEEDS: 2500 with 3
 *                       nodes, 1500 with 5, sized so the whole simulation suite stays within
 *                       about a minute on two cores)
 *   SIM_SEED_BASE=<n>   first seed of the sweep (default 1; CI runs a fixed set, set this to
 *                       explore others: SIM_SEED_BASE=$RANDOM SIM_SEEDS=20000)
 *   SIM_SEED=<n>        replay exactly one seed (with SIM_NODES=3|5, SIM_PROFILE=short|long, as
 *                       printed by a failure); other sweeps are skipped
 *   SIM_TRACE=<n>       events shown with a failure (default 60)
 *   SIM_WORKERS=<n>     worker threads for sweeps (default: one per core, at most 4; 0 runs
 *                       in-process, inside Jest's slower vm context)
 */
import { runInWorkers, workerCount, WorkersUnavailable } from './parallel.js';
import {
  runSimulation,
  type Profile,
  type SimulationOptions,
  type SimulationReport,
} from './sim/simulation.js';
import type { JobResult } from './sim/worker.js';

/**
 * Seeds per cluster size, sized so the whole simulation suite takes about 50 s on two cores
 * (measured: ~135 seeds/s with 3 nodes and ~68 seeds/s with 5 nodes on two worker threads).
 */
export const DEFAULT_SEEDS: Readonly<Record<number, number>> = { 3: 2500, 5: 1500 };

export interface Replay {
  readonly seed: number;
  readonly nodes: number;
  readonly profile: Profile;
}

function integer(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new Error(`${name} must be a non-negative integer, got "${raw}"`);
  }
  return value;
}

export const settings = {
  /** Seeds for a sweep over `nodes` nodes. */
  seeds: (nodes: number): number => integer('SIM_SEEDS', DEFAULT_SEEDS[nodes] ?? 1000),
  base: integer('SIM_SEED_BASE', 1),
  traceLines: integer('SIM_TRACE', 60),
  replay: ((): Replay | null => {
    if (process.env.SIM_SEED === undefined || process.env.SIM_SEED === '') return null;
    const profile = process.env.SIM_PROFILE ?? 'short';
    if (profile !== 'short' && profile !== 'long') {
      throw new Error(`SIM_PROFILE must be short or long, got "${profile}"`);
    }
    return { seed: integer('SIM_SEED', 0), nodes: integer('SIM_NODES', 3), profile };
  })(),
};

/** Whether a test for (nodes, profile) should run: always, unless replaying another one. */
export function selected(nodes: number, profile: Profile): boolean {
  const replay = settings.replay;
  return replay === null || (replay.nodes === nodes && replay.profile === profile);
}

export interface SweepTotals {
  runs: number;
  events: number;
  simulatedMs: number;
  leadersElected: number;
  acknowledgedWrites: number;
  crashes: number;
  lostWrites: number;
  commitBehindAtCrash: number;
  partitions: number;
  snapshotsInstalled: number;
  snapshotsHeld: number;
  leadershipTransfers: number;
  compactions: number;
  proposalsDropped: number;
  readStates: number;
  okWrites: number;
  okReads: number;
  failed: number;
  info: number;
  checkedOperations: number;
}

export interface SweepResult {
  readonly totals: SweepTotals;
  readonly failures: readonly string[];
  readonly wallMs: number;
  readonly seeds: readonly number[];
  /** Worker threads used (0: in-process). */
  readonly workers: number;
}

const MAX_FAILURES = 3;

/**
 * Runs the seeds (or the replayed one) — on worker threads unless SIM_WORKERS=0 or replaying —
 * collecting up to MAX_FAILURES failure messages (each names its seed and replay command)
 * instead of stopping at the first.
 */
export async function sweep(
  nodes: number,
  profile: Profile,
  seeds: readonly number[],
  extra: Partial<SimulationOptions> = {},
): Promise<SweepResult> {
  const list = settings.replay ? [settings.replay.seed] : seeds;
  const jobs = list.map((seed): SimulationOptions => ({
    seed,
    nodes,
    profile,
    failureTrace: settings.traceLines,
    ...extra,
  }));
  const started = performance.now();
  const workers = settings.replay ? 0 : workerCount();
  let results: JobResult[] | null = null;
  let usedWorkers = 0;
  if (workers > 0) {
    try {
      results = await runInWorkers(jobs, workers, MAX_FAILURES);
      usedWorkers = workers;
    } catch (error) {
      if (!(error instanceof WorkersUnavailable)) throw error;
      console.warn(`simulation workers unavailable, running in-process: ${error.message}`);
    }
  }
  results ??= inProcess(jobs);
  const totals = emptyTotals();
  const failures: string[] = [];
  for (const result of results) {
    if ('failure' in result) {
      failures.push(result.failure);
      continue;
    }
    if (settings.replay)
      console.log(`replayed seed ${result.seed}:`, JSON.stringify(result.report, null, 1));
    add(totals, result.report);
  }
  return {
    totals,
    failures,
    wallMs: performance.now() - started,
    seeds: list,
    workers: usedWorkers,
  };
}

function inProcess(jobs: readonly SimulationOptions[]): JobResult[] {
  const results: JobResult[] = [];
  let failures = 0;
  for (const job of jobs) {
    try {
      results.push({ seed: job.seed, report: runSimulation(job) });
    } catch (error) {
      results.push({ seed: job.seed, failure: (error as Error).message });
      if (++failures >= MAX_FAILURES) break;
    }
  }
  return results;
}

function emptyTotals(): SweepTotals {
  return {
    runs: 0,
    events: 0,
    simulatedMs: 0,
    leadersElected: 0,
    acknowledgedWrites: 0,
    crashes: 0,
    lostWrites: 0,
    commitBehindAtCrash: 0,
    partitions: 0,
    snapshotsInstalled: 0,
    snapshotsHeld: 0,
    leadershipTransfers: 0,
    compactions: 0,
    proposalsDropped: 0,
    readStates: 0,
    okWrites: 0,
    okReads: 0,
    failed: 0,
    info: 0,
    checkedOperations: 0,
  };
}

function add(totals: SweepTotals, r: SimulationReport): void {
  totals.runs++;
  totals.events += r.events;
  totals.simulatedMs += r.simulatedMs;
  totals.leadersElected += r.leadersElected;
  totals.acknowledgedWrites += r.acknowledgedWrites;
  totals.crashes += r.crashes;
  totals.lostWrites += r.lostWrites;
  totals.commitBehindAtCrash += r.commitBehindAtCrash;
  totals.partitions += r.partitions;
  totals.snapshotsInstalled += r.world.snapshotsInstalled;
  totals.snapshotsHeld += r.world.snapshotsHeld;
  totals.leadershipTransfers += r.world.leadershipTransfers;
  totals.compactions += r.world.compactions;
  totals.proposalsDropped += r.world.proposalsDropped;
  totals.readStates += r.world.readStates;
  totals.okWrites += r.clients.okWrites;
  totals.okReads += r.clients.okReads;
  totals.failed += r.clients.failed;
  totals.info += r.clients.info;
  totals.checkedOperations += r.linearizability.operations;
}

/** Seeds base, base + 1, …: the sweep's default set. */
export function seedRange(base: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => base + i);
}

/** One line for the test log: how much was simulated, how fast. */
export function describeSweep(label: string, result: SweepResult): string {
  const t = result.totals;
  const seconds = result.wallMs / 1000;
  return (
    `${label}: ${t.runs} seeds in ${seconds.toFixed(1)} s (${(t.runs / seconds).toFixed(0)} seeds/s, ` +
    `${result.workers > 0 ? `${result.workers} worker threads` : 'in-process'}), ` +
    `${(t.simulatedMs / 1000).toFixed(0)} s simulated, ${t.events} events; ` +
    `${t.leadersElected} leaders elected, ${t.crashes} crashes (${t.lostWrites} with a write ` +
    `in flight, ${t.commitBehindAtCrash} restarting behind their commit index), ${t.partitions} partitions, ` +
    `${t.snapshotsInstalled} snapshots installed (${t.snapshotsHeld} held during a write), ` +
    `${t.leadershipTransfers} leadership transfers, ${t.proposalsDropped} proposals superseded; ` +
    `clients: ${t.okWrites} writes and ` +
    `${t.okReads} reads ok, ${t.failed} failed, ${t.info} unknown; ` +
    `${t.checkedOperations} operations checked linearizable`
  );
}

/** Fails with every collected failure (seed, replay command, trace) in the message. */
export function expectNoFailures(result: SweepResult): void {
  if (result.failures.length === 0) return;
  throw new Error(
    `${result.failures.length} failing seed(s)` +
      `${result.failures.length >= MAX_FAILURES ? ' (stopped early)' : ''}:\n\n` +
      result.failures.join('\n\n'),
  );
}

/**
 * Guards against a vacuous sweep (faults that never fire, clients that never succeed): the
 * figures are a few times below what the default sweep produces.
 */
export function expectSubstantial(result: SweepResult): void {
  const t = result.totals;
  if (settings.replay || t.runs < 100) return;
  const atLeast = (what: string, value: number, minimum: number) => {
    if (value < minimum) {
      throw new Error(`vacuous sweep: ${what} = ${value}, expected at least ${minimum}`);
    }
  };
  atLeast('leaders elected', t.leadersElected, 2 * t.runs);
  atLeast('crashes', t.crashes, 2 * t.runs);
  atLeast('crashes with a write in flight', t.lostWrites, t.runs / 10);
  atLeast('restarts behind the commit index', t.commitBehindAtCrash, t.runs / 10);
  atLeast('partitions', t.partitions, t.runs);
  atLeast('snapshots installed', t.snapshotsInstalled, t.runs / 20);
  atLeast('acknowledged writes', t.acknowledgedWrites, 5 * t.runs);
  atLeast('successful reads', t.okReads, 2 * t.runs);
  atLeast('operations checked', t.checkedOperations, 10 * t.runs);
  if (t.runs >= 500) atLeast('proposals superseded by another term', t.proposalsDropped, 1);
}

/** The seed-sweep suite for one cluster size (one test file per size, so Jest runs them in parallel). */
export function describeSeedSweep(nodes: number): void {
  describe(`deterministic simulation: ${nodes} nodes`, () => {
    (selected(nodes, 'short') ? it : it.skip)(
      `keeps Raft safe, live and the schema linearizable over ${settings.replay ? 1 : settings.seeds(nodes)} seeds`,
      async () => {
        const result = await sweep(nodes, 'short', seedRange(settings.base, settings.seeds(nodes)));
        console.log(describeSweep(`${nodes} nodes`, result));
        expectNoFailures(result);
        expectSubstantial(result);
      },
      600_000,
    );
  });
}
