/**
 * The simulation is only useful if a seed replays exactly and if its checks have teeth.
 *
 * Replay: a run's trace digest folds in every executed event (time, node, kind, message details,
 * client outcomes), so two runs of one seed must agree on it and on every figure — in-process
 * (inside Jest's vm context) and on a worker thread alike.
 *
 * Teeth: deliberately broken variants of the node must fail, with a message that names the seed,
 * says the replay failed identically and prints the command to replay it.
 */
import { runInWorkers, workerCount, WorkersUnavailable } from './parallel.js';
import { runSimulation, SimulationFailure, type SimulationOptions } from './sim/simulation.js';

describe('deterministic simulation: replay', () => {
  it.each([3, 5])('replays a seed identically (%i nodes)', (nodes) => {
    const first = runSimulation({ seed: 4242, nodes });
    const second = runSimulation({ seed: 4242, nodes });
    expect(second).toEqual(first);
    expect(first.events).toBeGreaterThan(1000);
    const other = runSimulation({ seed: 4243, nodes });
    expect(other.trace).not.toBe(first.trace);
  });

  it('keeping the trace text does not change the run', () => {
    const quiet = runSimulation({ seed: 99, nodes: 3 });
    const verbose = runSimulation({ seed: 99, nodes: 3, traceLines: 1000 });
    expect(verbose).toEqual(quiet);
  });

  it('a worker thread runs a seed exactly as in-process; long runs replay too', async () => {
    const jobs: SimulationOptions[] = [
      { seed: 11, nodes: 3 },
      { seed: 12, nodes: 5 },
    ];
    const long: SimulationOptions = { seed: 7, nodes: 3, profile: 'long' };
    let results;
    try {
      results = await runInWorkers([...jobs, long, { ...long }], Math.max(1, workerCount()), 1);
    } catch (error) {
      if (error instanceof WorkersUnavailable) return; // the sweeps fall back to in-process too
      throw error;
    }
    for (const [i, job] of jobs.entries()) {
      expect(results[i]).toEqual({ seed: job.seed, report: runSimulation(job) });
    }
    expect(results[3]).toEqual(results[2]);
    expect(results[2]).toHaveProperty('report.profile', 'long');
  }, 60_000);
});

describe('deterministic simulation: the checks catch broken variants', () => {
  it('stale reads (no ReadIndex barrier) fail linearizability, and the failure replays', () => {
    let failure: Error | undefined;
    let seed = 0;
    while (!failure && seed < 20) {
      seed++;
      try {
        runSimulation({ seed, nodes: 3, server: { mutation: 'localReads' } });
      } catch (error) {
        failure = error as Error;
      }
    }
    expect(failure).toBeInstanceOf(SimulationFailure);
    const message = failure!.message;
    expect(message).toContain(`seed=${seed} nodes=3 profile=short`);
    expect(message).toContain('(replayed identically)');
    expect(message).toContain('history is not linearizable');
    expect(message).toContain(
      `replay: SIM_SEED=${seed} SIM_NODES=3 SIM_PROFILE=short npm run test:unit -- --testPathPatterns simulation`,
    );
    expect(message).toContain('client operations and faults around the conflict');
  });

  it('sending votes and acknowledgements before they are durable breaks safety', async () => {
    const jobs = Array.from({ length: 300 }, (_, i): SimulationOptions => ({
      seed: i + 1,
      nodes: 3,
      server: { mutation: 'sendBeforePersist' },
    }));
    let failures: string[];
    try {
      const results = await runInWorkers(jobs, workerCount() || 1, 3);
      failures = results.flatMap((r) => ('failure' in r ? [r.failure] : []));
    } catch (error) {
      if (!(error instanceof WorkersUnavailable)) throw error;
      failures = [];
      for (const job of jobs.slice(0, 60)) {
        try {
          runSimulation(job);
        } catch (failure) {
          failures.push((failure as Error).message);
        }
      }
    }
    expect(failures.length).toBeGreaterThan(0);
    // Caught by a safety check or by the core's own invariants, not only by the history.
    expect(failures.join('\n')).toMatch(
      /leader completeness|committed entry changed|election safety|durability|state-machine safety|was the log lost|RaftInvariantError|log matching/,
    );
  }, 120_000);
});
