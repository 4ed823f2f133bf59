/**
 * Sizes like the multi-process runs produce: thousands of operations over ~20 classes, and hot
 * partitions with thousands of operations. Times are printed, not asserted tightly (a loaded CI
 * box must not flake); a blow-up shows as the checker's own timeout ('unknown'), which fails.
 * Seeded: replay with LIN_PERF_SEED=<seed>.
 */
import { checkLinearizable, describeResult } from '../../support/linearizability/checker.js';
import { generateLinearizableHistory } from '../../support/linearizability/generate.js';
import type { Operation } from '../../support/linearizability/history.js';
import {
  kvModel,
  schemaModel,
  type SchemaInput,
  type SchemaOutput,
} from '../../support/linearizability/models.js';
import { prng, seedFrom } from '../../support/random.js';
import {
  NEVER_WRITTEN,
  completedIndices,
  kvInputs,
  schemaInputs,
  withOutput,
} from './workloads.js';

const seed = seedFrom('LIN_PERF_SEED', 'linearizability-performance');
const names = Array.from({ length: 20 }, (_, i) => `Collection${i}`);
const budget = { timeoutMs: 60_000 };

function schemaHistory(random: () => number): Operation<SchemaInput, SchemaOutput>[] {
  return generateLinearizableHistory(schemaModel(), {
    random,
    clients: 12,
    operations: 4000,
    nextInput: schemaInputs(names),
    infoRate: 0.03,
    maxDuration: 30,
  });
}

describe('checker performance', () => {
  it('checks 4000 schema operations over 20 classes, 12 clients, 3% indeterminate', () => {
    const model = schemaModel();
    const result = checkLinearizable(model, schemaHistory(prng(seed)), budget);
    console.log(`legal: ${describeResult(model, result)}`);
    expect(result.result).toBe('ok');
    expect(result.partitions).toBe(20);
  });

  it.each([
    [8, 0.01],
    [16, 0.01],
  ])('checks 3000 operations on ONE key, %i clients, %f indeterminate', (clients, infoRate) => {
    const ops = generateLinearizableHistory(kvModel, {
      random: prng(seed + clients),
      clients,
      operations: 3000,
      nextInput: kvInputs(['hot']),
      infoRate,
      maxDuration: 15,
    });
    const result = checkLinearizable(kvModel, ops, budget);
    console.log(`legal, ${clients} clients: ${describeResult(kvModel, result)}`);
    expect(result.result).toBe('ok');
  });

  it('refutes one bad read among 4000 schema operations over 20 classes', () => {
    const random = prng(seed + 100);
    const ops = schemaHistory(random);
    const reads = completedIndices(ops, (op) => op.input.f === 'get');
    const target = reads[Math.floor(reads.length * 0.9)];
    if (target === undefined) throw new Error('no reads generated');
    const name = ops[target]!.input.name;
    const ghost: SchemaOutput = { ok: true, class: { name, description: NEVER_WRITTEN } };
    const model = schemaModel();
    const result = checkLinearizable(model, withOutput(ops, target, ghost), budget);
    console.log(`refuted: ${describeResult(model, result).split('\n')[0]}`);
    expect(result.result).toBe('illegal');
    expect(result.counterexample?.stuck.output).toEqual(ghost);
  });

  it.each([
    [3000, 0],
    [1000, 0.01],
  ])('refutes one bad read late in %i operations on ONE key (%f indeterminate)', (n, infoRate) => {
    const ops = generateLinearizableHistory(kvModel, {
      random: prng(seed + n),
      clients: 8,
      operations: n,
      nextInput: kvInputs(['hot']),
      infoRate,
      maxDuration: 15,
    });
    const reads = completedIndices(ops, (op) => op.input.f === 'get');
    const target = reads[Math.floor(reads.length * 0.9)];
    if (target === undefined) throw new Error('no reads generated');
    const result = checkLinearizable(kvModel, withOutput(ops, target, NEVER_WRITTEN), budget);
    console.log(`refuted: ${describeResult(kvModel, result).split('\n')[0]}`);
    expect(result.result).toBe('illegal');
    expect(result.counterexample?.stuck.output).toBe(NEVER_WRITTEN);
  });
});
