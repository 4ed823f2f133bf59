/**
 * Random inputs and output mutations for the checker's self-tests, per model. Small value
 * domains on purpose: collisions (same value written twice, same class created twice, case
 * variants of one name) are where linearizability arguments get subtle.
 */
import type { Operation } from '../../support/linearizability/history.js';
import type {
  KvInput,
  KvOutput,
  SchemaInput,
  SchemaOutput,
} from '../../support/linearizability/models.js';

type Random = () => number;
const pick = <T>(random: Random, items: readonly T[]): T => {
  const item = items[Math.floor(random() * items.length)];
  if (item === undefined) throw new Error('pick from an empty list');
  return item;
};

/** A value no generated operation ever writes. */
export const NEVER_WRITTEN = 'never-written';

export function kvInputs(keys: readonly string[]): (random: Random) => KvInput {
  const values = ['a', 'b', 'c'];
  return (random) => {
    const key = pick(random, keys);
    const roll = random();
    if (roll < 0.4) return { f: 'put', key, value: pick(random, values) };
    if (roll < 0.8) return { f: 'get', key };
    return { f: 'cas', key, from: pick(random, [null, ...values]), to: pick(random, values) };
  };
}

/** Another output the operation could plausibly have returned (possibly still legal). */
export function mutateKvOutput(random: Random, input: KvInput, output: KvOutput): KvOutput {
  switch (input.f) {
    case 'put':
      return false; // a put never returns false: always impossible
    case 'cas':
      return !output;
    case 'get':
      return pick(
        random,
        [null, 'a', 'b', 'c'].filter((v) => v !== output),
      );
  }
}

export function schemaInputs(names: readonly string[]): (random: Random) => SchemaInput {
  const descriptions = ['a', 'b', 'c'];
  return (random) => {
    const name = pick(random, names);
    const roll = random();
    if (roll < 0.3) return { f: 'create', name, description: pick(random, descriptions) };
    if (roll < 0.5) return { f: 'update', name, description: pick(random, descriptions) };
    if (roll < 0.65) return { f: 'delete', name };
    return { f: 'get', name };
  };
}

export function mutateSchemaOutput(
  random: Random,
  input: SchemaInput,
  output: SchemaOutput,
): SchemaOutput {
  switch (input.f) {
    case 'create':
      return output.ok ? { ok: false, error: 'exists' } : { ok: true };
    case 'update':
      return output.ok ? { ok: false, error: 'not_found' } : { ok: true };
    case 'delete':
      return { ok: false, error: 'not_found' }; // delete is idempotent: always impossible
    case 'get': {
      const choices: SchemaOutput[] = [
        { ok: false, error: 'not_found' },
        ...['a', 'b', 'c'].map((description) => ({
          ok: true as const,
          class: { name: input.name, description },
        })),
      ];
      return pick(
        random,
        choices.filter((c) => JSON.stringify(c) !== JSON.stringify(output)),
      );
    }
  }
}

/** Replaces the output of operation `index` (which must be completed). */
export function withOutput<I, O>(
  ops: readonly Operation<I, O>[],
  index: number,
  output: O,
): Operation<I, O>[] {
  return ops.map((op, i) => (i === index ? { ...op, output } : op));
}

/** Indices of completed operations matching `predicate`. */
export function completedIndices<I, O>(
  ops: readonly Operation<I, O>[],
  predicate: (op: Operation<I, O>) => boolean = () => true,
): number[] {
  return ops.flatMap((op, i) => (op.status === 'ok' && predicate(op) ? [i] : []));
}
