/**
 * Group commit: concurrent calls on one shard in one loop turn become one inner call, each caller
 * gets exactly its own outcomes, and a caller's bad input fails only that caller.
 */
import { CoalescingStore } from '../../../src/storage/coalescing-store.js';
import { MemoryStore } from '../../../src/storage/memory-store.js';
import type { ObjectStore, StoredRecord, WriteRequest } from '../../../src/storage/object-store.js';
import { encodeVersion } from '../../../src/versioning/version.js';

const uuid = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
const v = (ms: number) => encodeVersion({ wallMs: ms, logical: 0, node: 'node-0' });
const put = (n: number, ms: number): WriteRequest => ({
  record: {
    id: uuid(n),
    version: v(ms),
    deleted: false,
    payload: Buffer.from(`p${n}`),
  } as StoredRecord,
  condition: { kind: 'ifNewer' },
});

/** Counts the calls that reach the wrapped store. */
function counted(inner: ObjectStore) {
  const calls = { writeMany: 0, readDigests: 0 };
  const spy: ObjectStore = Object.create(inner) as ObjectStore;
  spy.writeMany = (shard, requests) => {
    calls.writeMany++;
    return inner.writeMany(shard, requests);
  };
  spy.readDigests = (shard, ids) => {
    calls.readDigests++;
    return inner.readDigests(shard, ids);
  };
  return { spy, calls };
}

describe('CoalescingStore', () => {
  it('merges concurrent writes and digest reads per shard, answering each caller its own part', async () => {
    const { spy, calls } = counted(new MemoryStore());
    const store = new CoalescingStore(spy);
    await store.write('S/0', put(1, 5));
    calls.writeMany = 0;
    const outcomes = await Promise.all([
      store.writeMany('S/0', [put(1, 4), put(2, 1)]), // 1 is older than what is stored
      store.write('S/0', put(3, 1)),
      store.writeMany('S/1', [put(1, 1)]), // another shard: its own call
    ]);
    expect(calls.writeMany).toBe(2);
    expect(outcomes[0]!.map((o) => o.applied)).toEqual([false, true]);
    expect(outcomes[1]!.applied).toBe(true);
    expect(outcomes[2]![0]!.applied).toBe(true);
    const digests = await Promise.all([
      store.readDigests('S/0', [uuid(1), uuid(9)]),
      store.readDigests('S/0', [uuid(3)]),
    ]);
    expect(calls.readDigests).toBe(1);
    expect(digests[0]!.map((d) => d?.version ?? null)).toEqual([v(5), null]);
    expect(digests[1]![0]!.version).toBe(v(1));
  });

  it('fails a caller with bad input alone; the others in the same turn succeed', async () => {
    const store = new CoalescingStore(new MemoryStore());
    const bad = { ...put(4, 1), record: { ...put(4, 1).record, id: 'not-a-uuid' } };
    const results = await Promise.allSettled([
      store.writeMany('S/0', [bad]),
      store.writeMany('S/0', [put(5, 1)]),
    ]);
    expect(results[0]!.status).toBe('rejected');
    expect(results[1]!.status).toBe('fulfilled');
    expect((await store.read('S/0', uuid(5)))?.payload?.toString()).toBe('p5');
  });

  it('splits a turn larger than the store limit into several calls', async () => {
    const { spy, calls } = counted(new MemoryStore());
    const store = new CoalescingStore(spy);
    const batches = Array.from({ length: 3 }, (_, b) =>
      Array.from({ length: 600 }, (_, i) => put(b * 1000 + i + 1, 1)),
    );
    const outcomes = await Promise.all(batches.map((requests) => store.writeMany('S/0', requests)));
    expect(outcomes.flat().every((o) => o.applied)).toBe(true);
    expect(calls.writeMany).toBe(3); // 600 + 600 > 1000 per call
  });
});
