/**
 * Hand-written histories with a known verdict (fixtures/*.json, the same format failing runs are
 * saved in). Each file's meta says which model, the expected verdict, and for some violations
 * which operation the counterexample must name.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkLinearizable, describeResult } from '../../support/linearizability/checker.js';
import { loadHistory } from '../../support/linearizability/history.js';
import type { Model } from '../../support/linearizability/model.js';
import { kvModel, schemaModel } from '../../support/linearizability/models.js';

const fixtureDir = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');
const files = readdirSync(fixtureDir)
  .filter((f) => f.endsWith('.json'))
  .sort();

// Fixtures are untyped JSON, so the models are used at their erased types.
const models: Record<string, Model<unknown, unknown, unknown>> = {
  kv: kvModel as unknown as Model<unknown, unknown, unknown>,
  schema: schemaModel() as unknown as Model<unknown, unknown, unknown>,
};

describe('linearizability fixtures', () => {
  it('has both good and bad fixtures', () => {
    expect(files.filter((f) => f.startsWith('good-')).length).toBeGreaterThanOrEqual(8);
    expect(files.filter((f) => f.startsWith('bad-')).length).toBeGreaterThanOrEqual(12);
  });

  it.each(files)('%s', (file) => {
    const { operations, meta } = loadHistory<unknown, unknown>(join(fixtureDir, file));
    const model = models[String(meta.model)];
    if (!model) throw new Error(`${file}: unknown model ${String(meta.model)}`);
    const expected = file.startsWith('good-') ? 'ok' : 'illegal';
    expect(meta.expect).toBe(expected); // file name and meta must agree

    const result = checkLinearizable(model, operations, { timeoutMs: 5_000 });
    if (result.result !== expected) throw new Error(`${file}\n${describeResult(model, result)}`);
    expect(result.result).toBe(expected);

    if (expected === 'ok') {
      expect(result.counterexample).toBeUndefined();
      expect(result.partitionsChecked).toBe(result.partitions);
      return;
    }
    const cx = result.counterexample;
    if (!cx) throw new Error(`${file}: illegal without a counterexample`);
    const stuck = meta.stuck as { clientId: string; call: number } | undefined;
    if (stuck) {
      expect({ clientId: cx.stuck.clientId, call: cx.stuck.call }).toEqual(stuck);
    }
    if (meta.partition !== undefined) expect(cx.partition).toBe(meta.partition);
    // The prefix really is linearizable in the order given, and ends in the reported state.
    let state = model.init();
    for (const op of cx.linearized) {
      const next = model.step(state, op.input, op.output);
      expect(next).toBeDefined();
      state = next;
    }
    expect(model.key(state)).toBe(cx.state);
    // The counterexample names the culprit: with that operation's outcome forgotten (as if its
    // client had timed out) the rest of the history is linearizable.
    const forgiven = operations.map((op) =>
      op === cx.stuck
        ? { ...op, output: undefined, return: Infinity, status: 'info' as const }
        : op,
    );
    expect(checkLinearizable(model, forgiven).result).toBe('ok');
  });
});
