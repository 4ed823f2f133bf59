/**
 * Sequential specifications used with the checker.
 *
 * Both models keep a map over ALL keys so they also work unpartitioned (and so generators can
 * run one sequential execution over many keys); after partitioning each state holds one key.
 */
import { deterministicModel, type DeterministicModel } from './model.js';

// ---------------------------------------------------------------------------------------------
// (a) Register / key-value model, for self-tests of the checker.

export type KvInput =
  | { f: 'put'; key: string; value: string }
  | { f: 'get'; key: string }
  /** Compare-and-set; `from: null` means "only if absent". */
  | { f: 'cas'; key: string; from: string | null; to: string };

/** put → true; get → value or null (absent); cas → whether it swapped. */
export type KvOutput = string | null | boolean;

export type KvState = ReadonlyMap<string, string>;

export const kvModel: DeterministicModel<KvState, KvInput, KvOutput> = deterministicModel<
  KvState,
  KvInput,
  KvOutput
>({
  name: 'kv',
  init: () => new Map(),
  partition: (input) => input.key,
  // A get never writes; a cas that reports false did not swap.
  readOnly: (input, output) => input.f === 'get' || (input.f === 'cas' && output === false),
  apply(state, input) {
    const current = state.get(input.key) ?? null;
    switch (input.f) {
      case 'put':
        return { output: true, state: withEntry(state, input.key, input.value) };
      case 'get':
        return { output: current, state };
      case 'cas':
        return current === input.from
          ? { output: true, state: withEntry(state, input.key, input.to) }
          : { output: false, state };
    }
  },
  outputEqual: (a, b) => a === b,
  key: (state) => mapKey(state),
  describeOperation(input, output) {
    const args =
      input.f === 'put'
        ? `${input.key}, ${input.value}`
        : input.f === 'cas'
          ? `${input.key}, ${String(input.from)} -> ${input.to}`
          : input.key;
    return `${input.f}(${args}) -> ${output === undefined ? '? (info)' : JSON.stringify(output)}`;
  },
});

// ---------------------------------------------------------------------------------------------
// (b) Collection schema model: what the REST schema API must look like to its clients.
//
//  operation                 | state: class absent           | state: class present {name, d}
//  --------------------------+-------------------------------+------------------------------------
//  create(name, desc)        | ok (200); becomes {name,desc}  | error 'exists' (422); unchanged
//  update(name, desc)        | error 'not_found' (404)        | ok (200); description := desc,
//                            |                                |   stored name kept
//  delete(name)              | ok (200); no-op (idempotent)   | ok (200); becomes absent
//  get(name)                 | error 'not_found' (404)        | ok (200) with {name, description}
//  any op, outcome unknown   | accepted with any output; takes effect at one point after its
//  (info: timeout, crash)    | call, or never (placed last)
//
// - Names are first normalized like Weaviate's: the first letter is upper-cased ('article' ->
//   'Article'); the stored name is the normalized spelling of the successful create.
// - Names are unique case-insensitively, like Weaviate (`ClassEqual` uses strings.EqualFold):
//   after create('Article'), create('ARTICLE') must fail with 'exists'. Keys are folded with
//   toLowerCase(), which agrees with EqualFold for ASCII class names (Weaviate requires
//   /^[A-Z][_0-9A-Za-z]*$/).
// - Lookups (update/get/delete) are case-insensitive by default. `lookup: 'exact'` models
//   Weaviate, and sidecar/src/metadata/state-machine.ts: after normalizing, only the stored
//   spelling is found, so 'ARTICLE' is 'not_found' when 'Article' exists (delete: a no-op).
// - delete of a missing class returns ok: Weaviate made class deletion idempotent (PR #3240,
//   2023; the FSM's deleteClass is a no-op for an unknown class).
// - 4xx validation failures (bad name, bad body) never reach Raft: record them with `fail()`.
//   Only the 'exists'/'not_found' outcomes are model outputs.

export interface ClassSummary {
  name: string;
  description: string;
}

export type SchemaInput =
  | { f: 'create'; name: string; description: string }
  | { f: 'update'; name: string; description: string }
  | { f: 'delete'; name: string }
  | { f: 'get'; name: string };

export type SchemaOutput =
  /** create / update / delete succeeded. */
  | { ok: true }
  /** get found the class. */
  | { ok: true; class: ClassSummary }
  | { ok: false; error: 'exists' | 'not_found' };

/** Keyed by folded name. */
export type SchemaState = ReadonlyMap<string, ClassSummary>;

export interface SchemaModelOptions {
  lookup?: 'case-insensitive' | 'exact';
}

export const foldClassName = (name: string): string => name.toLowerCase();

/** Weaviate's class-name normalization: upper-case the first letter. */
export const normalizeClassName = (name: string): string =>
  name.charAt(0).toUpperCase() + name.slice(1);

const OK: SchemaOutput = { ok: true };
const EXISTS: SchemaOutput = { ok: false, error: 'exists' };
const NOT_FOUND: SchemaOutput = { ok: false, error: 'not_found' };

export function schemaModel(
  options: SchemaModelOptions = {},
): DeterministicModel<SchemaState, SchemaInput, SchemaOutput> {
  const exact = options.lookup === 'exact';
  return deterministicModel<SchemaState, SchemaInput, SchemaOutput>({
    name: exact ? 'schema(exact lookup)' : 'schema',
    init: () => new Map(),
    partition: (input) => foldClassName(input.name),
    // A get never writes; 'exists' and 'not_found' errors mean the write changed nothing.
    readOnly: (input, output) => input.f === 'get' || (output !== undefined && !output.ok),
    apply(state, input) {
      const name = normalizeClassName(input.name);
      const folded = foldClassName(name);
      const stored = state.get(folded);
      // What update/get/delete can see; create's uniqueness check always sees `stored`.
      const found = stored && (!exact || stored.name === name) ? stored : undefined;
      switch (input.f) {
        case 'create':
          if (stored) return { output: EXISTS, state };
          return {
            output: OK,
            state: withEntry(state, folded, { name, description: input.description }),
          };
        case 'update':
          if (!found) return { output: NOT_FOUND, state };
          return {
            output: OK,
            state: withEntry(state, folded, { name: found.name, description: input.description }),
          };
        case 'delete':
          return { output: OK, state: found ? withoutEntry(state, folded) : state };
        case 'get':
          return { output: found ? { ok: true, class: { ...found } } : NOT_FOUND, state };
      }
    },
    outputEqual: schemaOutputEqual,
    key: (state) => mapKey(state),
    describeOperation(input, output) {
      const args =
        input.f === 'create' || input.f === 'update'
          ? `${input.name}, ${JSON.stringify(input.description)}`
          : input.name;
      return `${input.f}(${args}) -> ${output === undefined ? '? (info)' : describeSchemaOutput(output)}`;
    },
  });
}

export function schemaOutputEqual(a: SchemaOutput, b: SchemaOutput): boolean {
  if (!a.ok || !b.ok) return !a.ok && !b.ok && a.error === b.error;
  const ca = 'class' in a ? a.class : undefined;
  const cb = 'class' in b ? b.class : undefined;
  if (!ca || !cb) return ca === cb;
  return ca.name === cb.name && ca.description === cb.description;
}

function describeSchemaOutput(output: SchemaOutput): string {
  if (!output.ok) return output.error;
  return 'class' in output
    ? `{${output.class.name}: ${JSON.stringify(output.class.description)}}`
    : 'ok';
}

// ---------------------------------------------------------------------------------------------

function withEntry<V>(map: ReadonlyMap<string, V>, key: string, value: V): ReadonlyMap<string, V> {
  const copy = new Map(map);
  copy.set(key, value);
  return copy;
}

function withoutEntry<V>(map: ReadonlyMap<string, V>, key: string): ReadonlyMap<string, V> {
  const copy = new Map(map);
  copy.delete(key);
  return copy;
}

/** Canonical, insertion-order-independent key of a map state. */
function mapKey(map: ReadonlyMap<string, unknown>): string {
  if (map.size === 0) return '{}';
  return JSON.stringify([...map.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
