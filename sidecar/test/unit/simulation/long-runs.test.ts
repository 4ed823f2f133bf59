/**
 * A few long runs (40 s of simulated time each, about a thousand client operations): longer
 * histories for the linearizability checker, many snapshot/compaction cycles, and fault
 * sequences that short runs cannot build up. Replay one with SIM_PROFILE=long (see sweep.ts).
 */
import { describeSweep, expectNoFailures, selected, settings, sweep } from './sweep.js';

const RUNS: readonly { nodes: number; seeds: readonly number[] }[] = [
  { nodes: 3, seeds: [1, 2, 3] },
  { nodes: 5, seeds: [1, 2] },
];

describe('deterministic simulation: long runs', () => {
  for (const { nodes, seeds } of RUNS) {
    (selected(nodes, 'long') ? it : it.skip)(
      `${nodes} nodes, seeds ${settings.replay ? settings.replay.seed : seeds.join(', ')}`,
      async () => {
        const result = await sweep(nodes, 'long', seeds);
        console.log(describeSweep(`${nodes} nodes, long`, result));
        expectNoFailures(result);
        if (!settings.replay) {
          expect(result.totals.checkedOperations).toBeGreaterThan(300 * seeds.length);
          expect(result.totals.snapshotsInstalled).toBeGreaterThan(0);
        }
      },
      600_000,
    );
  }
});
