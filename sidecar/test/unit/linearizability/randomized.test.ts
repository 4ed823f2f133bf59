/**
 * Randomized self-tests of the checker, seeded (replay with LIN_SEED=<seed>):
 * 1. histories produced by a real sequential execution are always linearizable;
 * 2. a read of a value nobody wrote is always caught;
 * 3. on small histories, with and without random mutations of outputs and timing, the checker
 *    agrees exactly with a brute-force search over all real-time-respecting orders.
 */
import { checkLinearizable, describeResult } from '../../support/linearizability/checker.js';
import { generateLinearizableHistory } from '../../support/linearizability/generate.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { saveHistory, type Operation } from '../../support/linearizability/history.js';
import type { DeterministicModel } from '../../support/linearizability/model.js';
import { kvModel, schemaModel } from '../../support/linearizability/models.js';
import { prng, seedFrom } from '../../support/random.js';
import { bruteForceLinearizable } from './brute-force.js';
import {
  NEVER_WRITTEN,
  completedIndices,
  kvInputs,
  mutateKvOutput,
  mutateSchemaOutput,
  schemaInputs,
  withOutput,
} from './workloads.js';

const seed = seedFrom('LIN_SEED', 'linearizability-randomized');
const artifactDir = process.env.LIN_ARTIFACT_DIR ?? join(tmpdir(), 'quorumstore-linearizability');

/** Saves a history whose verdict surprised us, and returns a line saying where it went. */
function saveArtifact<I, O>(
  name: string,
  ops: readonly Operation<I, O>[],
  meta: Record<string, unknown>,
): string {
  const path = join(artifactDir, `${name.replace(/[^a-z0-9-]+/gi, '_')}-seed${seed}.json`);
  saveHistory(path, ops, { ...meta, seed });
  return `history saved to ${path}`;
}

interface Workload<S, I, O> {
  name: string;
  model: DeterministicModel<S, I, O>;
  inputs: (keys: number) => (random: () => number) => I;
  mutate: (random: () => number, input: I, output: O) => O;
  /** The output of a read that observed a never-written value, or undefined if `input` is no read. */
  ghostRead: (input: I) => O | undefined;
}

const KEYS = ['x', 'y', 'z', 'w'];
const NAMES = ['Article', 'article', 'Book', 'Author']; // 'article' collides with 'Article'

const kv: Workload<unknown, never, never> = erase({
  name: 'kv',
  model: kvModel,
  inputs: (keys: number) => kvInputs(KEYS.slice(0, keys)),
  mutate: mutateKvOutput,
  ghostRead: (input) => (input.f === 'get' ? NEVER_WRITTEN : undefined),
});

const schemaWorkload = (lookup: 'case-insensitive' | 'exact') =>
  erase({
    name: `schema/${lookup}`,
    model: schemaModel({ lookup }),
    inputs: (keys: number) => schemaInputs(NAMES.slice(0, keys + 1)),
    mutate: mutateSchemaOutput,
    ghostRead: (input) =>
      input.f === 'get'
        ? { ok: true as const, class: { name: input.name, description: NEVER_WRITTEN } }
        : undefined,
  });

/** Lets workloads of different models share one table; each is only used with its own types. */
function erase<S, I, O>(w: Workload<S, I, O>): Workload<unknown, never, never> {
  return w as unknown as Workload<unknown, never, never>;
}

const workloads = [kv, schemaWorkload('case-insensitive'), schemaWorkload('exact')];

function generate<S, I, O>(
  w: Workload<S, I, O>,
  random: () => number,
  shape: {
    clients: number;
    operations: number;
    keys: number;
    infoRate: number;
    maxDuration?: number;
  },
): Operation<I, O>[] {
  const next = w.inputs(shape.keys);
  return generateLinearizableHistory(w.model, {
    random,
    clients: shape.clients,
    operations: shape.operations,
    nextInput: (r) => next(r),
    infoRate: shape.infoRate,
    maxDuration: shape.maxDuration ?? 20,
  });
}

describe.each(workloads.map((w) => [w.name, w] as const))('randomized: %s', (name, w) => {
  it('accepts every history generated from a sequential execution', () => {
    const random = prng(seed ^ hash(name) ^ 1);
    for (let round = 0; round < 60; round++) {
      const ops = generate(w, random, {
        clients: 2 + Math.floor(random() * 6),
        operations: 50 + Math.floor(random() * 250),
        keys: 1 + Math.floor(random() * 3),
        infoRate: random() * 0.15,
      });
      const result = checkLinearizable(w.model, ops, { timeoutMs: 10_000 });
      if (result.result !== 'ok') {
        const where = saveArtifact(`${name}-generated-r${round}`, ops, {
          model: name,
          expect: 'ok',
        });
        throw new Error(
          `seed=${seed} round=${round}\n${describeResult(w.model, result)}\n${where}`,
        );
      }
    }
  });

  it('always rejects a read of a value that was never written', () => {
    const random = prng(seed ^ hash(name) ^ 2);
    let checked = 0;
    for (let round = 0; round < 60; round++) {
      const ops = generate(w, random, {
        clients: 2 + Math.floor(random() * 5),
        operations: 30 + Math.floor(random() * 170),
        keys: 1 + Math.floor(random() * 3),
        infoRate: random() * 0.15,
      });
      const reads = completedIndices(ops, (op) => w.ghostRead(op.input) !== undefined);
      const target = reads[Math.floor(random() * reads.length)];
      if (target === undefined) continue;
      const ghost = w.ghostRead(ops[target]!.input)!;
      const mutated = withOutput(ops, target, ghost);
      const result = checkLinearizable(w.model, mutated, { timeoutMs: 10_000 });
      if (result.result !== 'illegal' || !isEqual(result.counterexample?.stuck.output, ghost)) {
        const meta = { model: name, expect: 'illegal', ghostRead: target };
        const where = saveArtifact(`${name}-ghost-r${round}`, mutated, meta);
        throw new Error(
          `seed=${seed} round=${round}\n${describeResult(w.model, result)}\n${where}`,
        );
      }
      checked++;
    }
    expect(checked).toBeGreaterThan(40);
  });

  it('agrees with brute force on small histories, mutated or not', () => {
    const random = prng(seed ^ hash(name) ^ 3);
    const verdicts = { ok: 0, illegal: 0 };
    for (let round = 0; round < 400; round++) {
      let ops = generate(w, random, {
        clients: 2 + Math.floor(random() * 3),
        operations: 2 + Math.floor(random() * 8),
        keys: 1 + Math.floor(random() * 2),
        infoRate: random() * 0.3,
        maxDuration: 8,
      });
      const roll = random();
      const completed = completedIndices(ops);
      const target = completed[Math.floor(random() * completed.length)];
      if (roll < 0.5 && target !== undefined) {
        // Change one observed output to another plausible one (may or may not stay legal).
        const op = ops[target]!;
        ops = withOutput(ops, target, w.mutate(random, op.input, op.output!));
      } else if (roll < 0.75 && target !== undefined) {
        // Shrink one interval: adds real-time constraints the execution may not satisfy.
        const late = (op: Operation<never, never>) =>
          Math.max(op.call, op.return - 1 - Math.floor(random() * 2));
        ops = ops.map((op, i) => (i === target ? { ...op, call: late(op) } : op));
      }
      const expected = bruteForceLinearizable(w.model, ops) ? 'ok' : 'illegal';
      const result = checkLinearizable(w.model, ops, { timeoutMs: 10_000 });
      if (result.result !== expected) {
        const where = saveArtifact(`${name}-small-r${round}`, ops, {
          model: name,
          expect: expected,
        });
        throw new Error(
          `seed=${seed} round=${round}: checker ${result.result}, brute force ${expected}\n` +
            `${describeResult(w.model, result)}\n${where}`,
        );
      }
      verdicts[expected]++;
    }
    console.log(`${name}: brute-force agreement on 400 histories`, verdicts);
    // Both verdicts must be well represented, or the comparison proves little.
    expect(verdicts.ok).toBeGreaterThan(100);
    expect(verdicts.illegal).toBeGreaterThan(60);
  });
});

function isEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function hash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
  return h;
}
