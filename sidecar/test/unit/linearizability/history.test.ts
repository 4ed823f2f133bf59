/** The history recorder's invoke/ok/fail/info semantics and the JSON history format. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  HistoryRecorder,
  loadHistory,
  parseHistory,
  saveHistory,
  serializeHistory,
  type Clock,
  type Operation,
} from '../../support/linearizability/history.js';
import type { KvInput, KvOutput } from '../../support/linearizability/models.js';

/** A virtual clock the test advances by hand, like the Raft simulation's. */
function virtualClock(): { clock: Clock; advance: (ns: number) => void } {
  let now = 1_000n;
  return { clock: () => now, advance: (ns) => (now += BigInt(ns)) };
}

const get = (key: string): KvInput => ({ f: 'get', key });
const put = (key: string, value: string): KvInput => ({ f: 'put', key, value });

describe('HistoryRecorder', () => {
  it('records ok operations with call/return from the injected clock', () => {
    const { clock, advance } = virtualClock();
    const recorder = new HistoryRecorder<KvInput, KvOutput>({ clock });
    advance(10);
    const h = recorder.invoke('c1', put('x', 'a'));
    advance(5);
    h.ok(true);
    expect(recorder.operations()).toEqual([
      { clientId: 'c1', input: put('x', 'a'), output: true, call: 10, return: 15, status: 'ok' },
    ]);
  });

  it('drops failed operations and keeps info ones with return = Infinity and no output', () => {
    const { clock, advance } = virtualClock();
    const recorder = new HistoryRecorder<KvInput, KvOutput>({ clock });
    const failed = recorder.invoke('c1', put('x', 'a'));
    advance(1);
    failed.fail(new Error('422 invalid'));
    const unknown = recorder.invoke('c2', put('x', 'b'));
    advance(1);
    unknown.info(new Error('ECONNRESET'));
    const ops = recorder.operations();
    expect(recorder.failed).toBe(1);
    expect(ops).toHaveLength(1);
    expect(ops[0]).toMatchObject({ clientId: 'c2', output: undefined, status: 'info' });
    expect(ops[0]?.return).toBe(Infinity);
  });

  it('makes timestamps strictly increasing so a coarse clock never merges ordered events', () => {
    const recorder = new HistoryRecorder<KvInput, KvOutput>({ clock: () => 42n }); // frozen clock
    const a = recorder.invoke('c1', put('x', 'a'));
    a.ok(true);
    const b = recorder.invoke('c1', get('x'));
    b.ok('a');
    const [first, second] = recorder.operations();
    expect(first && second).toBeTruthy();
    expect(first!.call).toBeLessThan(first!.return);
    expect(first!.return).toBeLessThan(second!.call); // a really finished before b started
    expect(second!.call).toBeLessThan(second!.return);
  });

  it('uses process.hrtime by default and stays monotonic across awaits', async () => {
    const recorder = new HistoryRecorder<KvInput, KvOutput>();
    const clients = [0, 1, 2].map(async (c) => {
      for (let i = 0; i < 5; i++) {
        const h = recorder.invoke(c, get('x'));
        await new Promise((resolve) => setImmediate(resolve));
        h.ok(null);
      }
    });
    await Promise.all(clients);
    const ops = recorder.operations();
    expect(ops).toHaveLength(15);
    const times = ops.flatMap((op) => [op.call, op.return]).sort((x, y) => x - y);
    expect(new Set(times).size).toBe(times.length); // all distinct
    for (const op of ops) expect(op.call).toBeLessThan(op.return);
  });

  it('reports operations still pending at the end as info', () => {
    const recorder = new HistoryRecorder<KvInput, KvOutput>({ clock: () => 0n });
    recorder.invoke('c1', put('x', 'a'));
    expect(recorder.pendingCount).toBe(1);
    expect(recorder.operations()).toMatchObject([{ status: 'info', return: Infinity }]);
  });

  it('rejects resolving an operation twice and overlapping requests from one client', () => {
    const recorder = new HistoryRecorder<KvInput, KvOutput>({ clock: () => 0n });
    const h = recorder.invoke('c1', get('x'));
    expect(() => recorder.invoke('c1', get('y'))).toThrow(/another is pending/);
    h.ok(null);
    expect(() => h.info()).toThrow(/resolved twice/);
    // After an info the client may go on (its earlier request stays concurrent with everything).
    const lost = recorder.invoke('c1', get('x'));
    lost.info();
    expect(() => recorder.invoke('c1', get('x')).ok(null)).not.toThrow();
  });
});

describe('history JSON format', () => {
  const ops: Operation<KvInput, KvOutput>[] = [
    { clientId: 'c1', input: put('x', 'a'), output: true, call: 1, return: 5, status: 'ok' },
    {
      clientId: 2,
      input: put('x', 'b'),
      output: undefined,
      call: 2,
      return: Infinity,
      status: 'info',
    },
    { clientId: 'c3', input: get('x'), output: null, call: 6, return: 9, status: 'ok' },
  ];

  it('round-trips, including info operations (return null on disk)', () => {
    const text = serializeHistory(ops, { seed: 7 });
    expect(JSON.parse(text).operations[1]).toEqual({
      clientId: 2,
      input: put('x', 'b'),
      call: 2,
      return: null,
    });
    const parsed = parseHistory<KvInput, KvOutput>(text);
    expect(parsed.operations).toEqual(ops);
    expect(parsed.meta).toEqual({ seed: 7 });
  });

  it('saves to and loads from a file (failing-run artifacts)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'history-'));
    try {
      const path = join(dir, 'nested', 'failing.json');
      saveHistory(path, ops, { model: 'kv' });
      expect(loadHistory<KvInput, KvOutput>(path).operations).toEqual(ops);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each([
    ['wrong format', { format: 'other', version: 1, operations: [] }, /not a quorumstore-history/],
    [
      'missing output',
      { operations: [{ clientId: 'a', input: 1, call: 0, return: 1 }] },
      /needs an output/,
    ],
    [
      'info with output',
      { operations: [{ clientId: 'a', input: 1, output: 2, call: 0, return: null }] },
      /has output/,
    ],
    [
      'return before call',
      { operations: [{ clientId: 'a', input: 1, output: 2, call: 5, return: 1 }] },
      /before it is called/,
    ],
    [
      'non-finite call',
      { operations: [{ clientId: 'a', input: 1, output: 2, call: null, return: 1 }] },
      /finite/,
    ],
    [
      'bad client id',
      { operations: [{ clientId: {}, input: 1, output: 2, call: 0, return: 1 }] },
      /clientId/,
    ],
  ])('rejects malformed files: %s', (_name, body, error) => {
    const file = { format: 'quorumstore-history', version: 1, ...body };
    expect(() => parseHistory(JSON.stringify(file))).toThrow(error);
  });
});
