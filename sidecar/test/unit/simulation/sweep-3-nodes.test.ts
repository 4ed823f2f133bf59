/**
 * The deterministic simulation over many seeds, 3 nodes (see sim/simulation.ts for what one run
 * does and sweep.ts for SIM_SEEDS / SIM_SEED_BASE / SIM_SEED). A failure prints every failing
 * seed with its replay command and the events leading to it.
 */
import { describeSeedSweep } from './sweep.js';

describeSeedSweep(3);
