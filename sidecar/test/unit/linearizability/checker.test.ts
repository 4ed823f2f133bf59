/** Checker behaviour beyond the fixtures: partitions, info handling, budgets, invariants. */
import {
  checkLinearizable,
  describeResult,
  partitionHistory,
} from '../../support/linearizability/checker.js';
import type { Operation } from '../../support/linearizability/history.js';
import { EMPTY_SET, Memo, withRank } from '../../support/linearizability/memo.js';
import {
  kvModel,
  schemaModel,
  type KvInput,
  type KvOutput,
  type KvState,
  type SchemaInput,
  type SchemaOutput,
} from '../../support/linearizability/models.js';

type KvOp = Operation<KvInput, KvOutput>;
const ok = (
  clientId: string,
  call: number,
  ret: number,
  input: KvInput,
  output: KvOutput,
): KvOp => ({
  clientId,
  input,
  output,
  call,
  return: ret,
  status: 'ok',
});
const info = (clientId: string, call: number, input: KvInput): KvOp => ({
  clientId,
  input,
  output: undefined,
  call,
  return: Infinity,
  status: 'info',
});
const put = (key: string, value: string): KvInput => ({ f: 'put', key, value });
const get = (key: string): KvInput => ({ f: 'get', key });

describe('checkLinearizable', () => {
  it('accepts the empty history', () => {
    expect(checkLinearizable(kvModel, [])).toMatchObject({
      result: 'ok',
      partitions: 0,
      partitionsChecked: 0,
    });
  });

  it('checks each key separately and counts partitions', () => {
    const ops = [
      ok('c1', 0, 10, put('x', 'a'), true),
      ok('c2', 0, 10, put('y', 'b'), true),
      ok('c1', 20, 30, get('x'), 'a'),
      ok('c2', 20, 30, get('y'), 'b'),
    ];
    expect(checkLinearizable(kvModel, ops)).toMatchObject({
      result: 'ok',
      partitions: 2,
      partitionsChecked: 2,
      operations: 4,
    });
  });

  it('drops indeterminate reads but keeps indeterminate writes', () => {
    const ops = [
      info('c1', 0, get('x')),
      info('c2', 0, put('x', 'a')),
      ok('c3', 5, 9, get('x'), 'a'),
    ];
    const partitions = partitionHistory(kvModel, ops);
    expect(partitions.get('x')?.map((op) => op.input.f)).toEqual(['put', 'get']);
    expect(checkLinearizable(kvModel, ops).result).toBe('ok');
  });

  it('lets an info write take effect between two reads that straddle it', () => {
    const ops = [
      ok('c1', 0, 1, put('x', 'a'), true),
      info('c2', 2, put('x', 'b')),
      ok('c3', 3, 4, get('x'), 'a'),
      ok('c3', 5, 6, get('x'), 'b'),
      ok('c3', 7, 8, get('x'), 'b'),
    ];
    expect(checkLinearizable(kvModel, ops).result).toBe('ok');
    // ... but it cannot take effect twice.
    const flipFlop = [...ops, ok('c3', 9, 10, get('x'), 'a'), ok('c3', 11, 12, get('x'), 'b')];
    expect(checkLinearizable(kvModel, flipFlop).result).toBe('illegal');
  });

  it('explains a violation with the longest prefix and the operation that cannot be placed', () => {
    const ops = [
      ok('c1', 0, 10, put('x', 'a'), true),
      ok('c1', 20, 30, put('x', 'b'), true),
      ok('c2', 40, 50, get('x'), 'a'),
    ];
    const result = checkLinearizable(kvModel, ops);
    expect(result.result).toBe('illegal');
    expect(result.counterexample?.linearized.map((op) => op.call)).toEqual([0, 20]);
    expect(result.counterexample?.stuck.call).toBe(40);
    const text = describeResult(kvModel, result);
    expect(text).toContain('cannot place: client c2 [40, 50] get(x) -> "a"');
    expect(text).toContain('1. client c1 [0, 10] put(x, a) -> true');
  });

  it('stops at the first illegal partition without deciding the rest', () => {
    const ops = [
      ok('c1', 0, 1, get('bad'), 'never'),
      ...Array.from({ length: 20 }, (_, i) => ok('c2', i * 2, i * 2 + 1, put('good', 'v'), true)),
    ];
    const result = checkLinearizable(kvModel, ops);
    expect(result).toMatchObject({ result: 'illegal', partitions: 2, partitionsChecked: 0 });
  });

  it('returns unknown instead of hanging on an exponential search', () => {
    // 24 mutually concurrent writes of distinct values and a read of a value none wrote: the
    // read's call comes after every write returns, so the search must place all 24 writes in
    // every order the cache cannot collapse (2^24 sets x 24 states) before giving up.
    const writes = Array.from({ length: 24 }, (_, i) =>
      ok(`w${i}`, 0, 100, put('x', `v${i}`), true),
    );
    const ops = [...writes, ok('r', 200, 210, get('x'), 'nobody-wrote-this')];
    const started = performance.now();
    const result = checkLinearizable(kvModel, ops, { timeoutMs: 200 });
    const elapsed = performance.now() - started;
    expect(result).toMatchObject({
      result: 'unknown',
      gaveUp: { partition: 'x', reason: 'timeout' },
    });
    expect(result.partitionsChecked).toBe(0);
    expect(elapsed).toBeLessThan(5_000); // bounded, with lots of slack for a loaded CI box
  });

  it('returns unknown when the memo cache limit is reached', () => {
    const writes = Array.from({ length: 20 }, (_, i) =>
      ok(`w${i}`, 0, 100, put('x', `v${i}`), true),
    );
    const ops = [...writes, ok('r', 200, 210, get('x'), 'nobody-wrote-this')];
    const result = checkLinearizable(kvModel, ops, { maxCacheEntries: 10_000 });
    expect(result).toMatchObject({ result: 'unknown', gaveUp: { reason: 'cache-limit' } });
  });

  it('detects models that break their contract instead of answering wrongly', () => {
    const lying = { ...kvModel, readOnly: () => true }; // claims a put cannot change the state
    expect(() => checkLinearizable(lying, [ok('c1', 0, 1, put('x', 'a'), true)])).toThrow(
      /readOnly operation changed the state/,
    );
    const strict = {
      ...kvModel,
      step: (s: KvState, i: KvInput, o: KvOutput | undefined) =>
        o === undefined ? undefined : kvModel.step(s, i, o),
    };
    expect(() =>
      checkLinearizable(strict, [info('c1', 0, put('x', 'a')), ok('c2', 5, 6, get('x'), 'a')]),
    ).toThrow(/must accept any/);
  });

  it('rejects malformed operations instead of checking them', () => {
    const inconsistent = { ...ok('c1', 0, 1, get('x'), null), status: 'info' as const };
    expect(() => checkLinearizable(kvModel, [inconsistent])).toThrow(/inconsistent operation/);
    expect(() => checkLinearizable(kvModel, [ok('c1', 5, 1, get('x'), null)])).toThrow(
      /before call/,
    );
  });
});

describe('schema model', () => {
  type SchemaOp = Operation<SchemaInput, SchemaOutput>;
  const found = (name: string, description: string): SchemaOutput => ({
    ok: true,
    class: { name, description },
  });
  const op = (call: number, input: SchemaInput, output: SchemaOutput): SchemaOp => ({
    clientId: 'c1',
    input,
    output,
    call,
    return: call + 1,
    status: 'ok',
  });

  it('stores the normalized spelling of the create (first letter upper-cased)', () => {
    const ops = [
      op(0, { f: 'create', name: 'article', description: 'a' }, { ok: true }),
      op(2, { f: 'get', name: 'Article' }, found('Article', 'a')),
    ];
    expect(checkLinearizable(schemaModel(), ops).result).toBe('ok');
    const verbatim = [ops[0]!, op(2, { f: 'get', name: 'Article' }, found('article', 'a'))];
    expect(checkLinearizable(schemaModel(), verbatim).result).toBe('illegal');
  });

  it('partitions case variants of one class name together', () => {
    const ops = [
      op(0, { f: 'create', name: 'Article', description: 'a' }, { ok: true }),
      op(
        2,
        { f: 'get', name: 'ARTICLE' },
        { ok: true, class: { name: 'Article', description: 'a' } },
      ),
      op(4, { f: 'get', name: 'Book' }, { ok: false, error: 'not_found' }),
    ];
    expect([...partitionHistory(schemaModel(), ops).keys()]).toEqual(['article', 'book']);
    expect(checkLinearizable(schemaModel(), ops).result).toBe('ok');
  });

  it("with lookup 'exact' (Weaviate's rule), only the stored spelling is found", () => {
    const exact = schemaModel({ lookup: 'exact' });
    const created = op(0, { f: 'create', name: 'Article', description: 'a' }, { ok: true });
    const history = (...rest: SchemaOp[]) => [created, ...rest];
    const miss = op(2, { f: 'get', name: 'ARTICLE' }, { ok: false, error: 'not_found' });
    expect(checkLinearizable(exact, history(miss)).result).toBe('ok');
    expect(checkLinearizable(schemaModel(), history(miss)).result).toBe('illegal');
    // The first letter is normalized before matching, as Weaviate does: 'article' is 'Article'.
    const normalized = op(2, { f: 'get', name: 'article' }, found('Article', 'a'));
    expect(checkLinearizable(exact, history(normalized)).result).toBe('ok');
    // Uniqueness still folds case.
    const dup = op(
      2,
      { f: 'create', name: 'ARTICLE', description: 'b' },
      { ok: false, error: 'exists' },
    );
    expect(checkLinearizable(exact, history(dup)).result).toBe('ok');
    // delete of another spelling is a no-op: the class is still there afterwards.
    const del = op(2, { f: 'delete', name: 'ARTICLE' }, { ok: true });
    const still = op(
      4,
      { f: 'get', name: 'Article' },
      { ok: true, class: { name: 'Article', description: 'a' } },
    );
    expect(checkLinearizable(exact, history(del, still)).result).toBe('ok');
  });
});

describe('memo encoding', () => {
  it('keeps the linearized set as frontier + extras, never folding info ranks in', () => {
    const limit = 5; // ranks 0-4 completed operations, 5+ info
    let set = withRank(EMPTY_SET, 2, limit);
    expect(set).toEqual({ frontier: 0, extras: [2] });
    set = withRank(set, 0, limit);
    expect(set).toEqual({ frontier: 1, extras: [2] });
    set = withRank(withRank(set, 6, limit), 1, limit); // 0,1,2 contiguous: frontier jumps to 3
    expect(set).toEqual({ frontier: 3, extras: [6] });
    set = withRank(withRank(set, 4, limit), 3, limit);
    expect(set).toEqual({ frontier: 5, extras: [6] }); // stops at the info boundary
    expect(() => withRank(set, 2, limit)).toThrow(/already a member/);
  });

  it('skips info variants of a failed configuration, but not of one still being explored', () => {
    const memo = new Memo(3);
    const base = { frontier: 1, extras: [2] };
    const withInfo = { frontier: 1, extras: [2, 4] };
    const handle = memo.add(base, 'S', 1);
    expect(handle).toBeDefined();
    expect(memo.add(base, 'S', 1)).toBeUndefined(); // exact repeat
    expect(memo.add(withInfo, 'S', 1)).toBeDefined(); // base not known to fail yet
    handle!.failed = true;
    expect(memo.add({ frontier: 1, extras: [2, 4, 5] }, 'S', 1)).toBeUndefined(); // dominated
    expect(memo.add({ frontier: 1, extras: [2, 5] }, 'T', 2)).toBeDefined(); // other state
    expect(memo.add({ frontier: 1, extras: [5] }, 'S', 1)).toBeDefined(); // other completed set
  });
});
