/**
 * The deterministic simulation over many seeds, 3 nodes (see sim/simulation.ts for what one run
 * does and sweep.ts for SIM_SEEDS / SIM_SEED_BASE / SIM_SEED). A failure prints every failing
 * seed with its replay command and the events leading to it.
 */
import {
  describeSweep,
  expectNoFailures,
  expectSubstantial,
  seedRange,
  selected,
  settings,
  sweep,
} from './sweep.js';

const NODES = 3;

describe(`deterministic simulation: ${NODES} nodes`, () => {
  (selected(NODES, 'short') ? it : it.skip)(
    `keeps Raft safe, live and the schema linearizable over ${settings.replay ? 1 : settings.seeds(NODES)} seeds`,
    async () => {
      const result = await sweep(NODES, 'short', seedRange(settings.base, settings.seeds(NODES)));
      console.log(describeSweep(`${NODES} nodes`, result));
      expectNoFailures(result);
      expectSubstantial(result);
    },
    600_000,
  );
});
