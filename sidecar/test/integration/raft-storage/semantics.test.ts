/**
 * Durable Raft storage: the RaftStorage read semantics (etcd's Storage), the save() contract
 * checks and the explicit limits.
 */
import {
  MAX_ENTRIES_PER_SAVE,
  MAX_RECORD_BYTES,
  SnapshotOutOfDateError,
  StorageContractError,
  StorageFailedError,
  StorageLimitError,
  type DurableRaftStorage,
} from '../../../src/raft/storage/index.js';
import { CompactedError, UnavailableError } from '../../../src/raft/types.js';
import { allEntries, entries, entry, open, plain, removeTempDirs, tempDir } from './helpers.js';

afterAll(removeTempDirs);

/** Entries 1..10 of term 1 (data 10 bytes each: "entry-N-t1" padded), commit 10. */
async function tenEntries(): Promise<DurableRaftStorage> {
  const { storage } = await open(await tempDir());
  const list = Array.from({ length: 10 }, (_, i) =>
    entry(i + 1, 1, `e${String(i + 1).padStart(9, '0')}`),
  );
  await storage.save({ hardState: { term: 1, vote: 'a', commit: 10 }, entries: list });
  return storage;
}

describe('RaftStorage reads', () => {
  test('entries(lo, hi) returns [lo, hi); maxBytes limits data bytes but returns at least one', async () => {
    const storage = await tenEntries();
    expect(storage.entries(3, 6).map((e) => e.index)).toEqual([3, 4, 5]);
    expect(storage.entries(4, 4)).toEqual([]);
    expect(storage.entries(1, 11, 25).map((e) => e.index)).toEqual([1, 2]); // 10 + 10 ≤ 25 < 30
    expect(storage.entries(1, 11, 30).map((e) => e.index)).toEqual([1, 2, 3]);
    expect(storage.entries(5, 11, 0).map((e) => e.index)).toEqual([5]);
    expect(storage.entries(1, 11).length).toBe(10);
    expect(() => storage.entries(1, 12)).toThrow(UnavailableError);
    expect(() => storage.entries(6, 5)).toThrow(StorageContractError);
    await storage.close();
  });

  test('term(): the snapshot index answers the snapshot term; below is compacted, past the end unavailable', async () => {
    const storage = await tenEntries();
    expect(storage.term(0)).toBe(0);
    expect(storage.term(10)).toBe(1);
    expect(() => storage.term(11)).toThrow(UnavailableError);
    await storage.createSnapshot(6, { voters: ['a'], learners: [] }, Buffer.from('6'));
    await storage.compact(6);
    expect(storage.term(6)).toBe(1);
    expect(() => storage.term(5)).toThrow(CompactedError);
    expect(() => storage.entries(6, 8)).toThrow(CompactedError);
    expect(storage.entries(7, 8).map((e) => e.index)).toEqual([7]);
    await storage.close();
  });

  test('firstIndex/lastIndex after compact, and after a leader snapshot ahead of the log', async () => {
    const storage = await tenEntries();
    await storage.createSnapshot(8, { voters: ['a'], learners: [] }, Buffer.from('8'));
    await storage.compact(4);
    expect([storage.firstIndex(), storage.lastIndex()]).toEqual([5, 10]);
    expect(storage.term(4)).toBe(1);
    await storage.compact(8);
    expect([storage.firstIndex(), storage.lastIndex()]).toEqual([9, 10]);
    await expect(storage.compact(8)).rejects.toThrow(CompactedError);
    await expect(storage.compact(9)).rejects.toThrow(/beyond the snapshot/);

    const snapshot = {
      metadata: { index: 50, term: 3, confState: { voters: ['a', 'b'], learners: ['c'] } },
      data: Buffer.from('50'),
    };
    await storage.save({ snapshot, hardState: { term: 3, vote: null, commit: 10 } });
    expect([storage.firstIndex(), storage.lastIndex(), storage.term(50)]).toEqual([51, 50, 3]);
    expect(() => storage.term(49)).toThrow(CompactedError);
    expect(() => storage.term(51)).toThrow(UnavailableError);
    expect(storage.entries(51, 51)).toEqual([]);
    expect(storage.snapshot()).toBe(snapshot);
    expect(storage.initialState().confState).toEqual(snapshot.metadata.confState);
    await storage.save({ entries: entries(51, 52, 3) });
    expect(plain(allEntries(storage))).toEqual(plain(entries(51, 52, 3)));
    await storage.close();
  });

  test('reads reflect only durable state while a save is in flight', async () => {
    const storage = await tenEntries();
    const pending = storage.save({ entries: entries(11, 12, 1) });
    expect(storage.lastIndex()).toBe(10);
    await pending;
    expect(storage.lastIndex()).toBe(12);
    await storage.close();
  });
});

describe('save() contract and limits', () => {
  test('appending with a gap after the last index is refused', async () => {
    const storage = await tenEntries();
    await expect(storage.save({ entries: entries(12, 12, 1) })).rejects.toThrow(
      StorageContractError,
    );
    expect(storage.lastIndex()).toBe(10);
    await storage.save({ entries: entries(11, 11, 1) }); // still usable: nothing was written
    await storage.close();
  });

  test('committed entries are never removed or changed', async () => {
    const { storage } = await open(await tempDir());
    await storage.save({
      hardState: { term: 2, vote: null, commit: 5 },
      entries: entries(1, 8, 1),
    });
    await expect(storage.save({ entries: entries(5, 6, 2) })).rejects.toThrow(/committed entry 5/);
    await expect(storage.save({ entries: entries(4, 4, 1) })).rejects.toThrow(/committed entry 5/);
    // Resending identical committed entries is fine; truncation starts above the commit index.
    await storage.save({ entries: [...entries(4, 5, 1), ...entries(6, 6, 2)] });
    expect(storage.lastIndex()).toBe(6);
    await storage.close();
  });

  test('entries must be contiguous with non-decreasing terms, within the hard state term', async () => {
    const storage = await tenEntries();
    await expect(storage.save({ entries: [entry(11, 1), entry(13, 1)] })).rejects.toThrow(
      /contiguous/,
    );
    await expect(storage.save({ entries: [entry(11, 2), entry(12, 1)] })).rejects.toThrow(
      /term goes back/,
    );
    await expect(storage.save({ entries: [entry(11, 2)] })).rejects.toThrow(
      /beyond the hard state/,
    );
    await expect(
      storage.save({ entries: [{ ...entry(11, 1), data: 'x' as unknown as Buffer }] }),
    ).rejects.toThrow(StorageContractError);
    await storage.close();
  });

  test('hard state: no second vote in a term, term and commit never go back, commit within the log', async () => {
    const storage = await tenEntries();
    await expect(storage.save({ hardState: { term: 1, vote: 'b', commit: 10 } })).rejects.toThrow(
      /vote in term 1/,
    );
    await expect(storage.save({ hardState: { term: 1, vote: null, commit: 10 } })).rejects.toThrow(
      /vote in term 1/,
    );
    await expect(storage.save({ hardState: { term: 0, vote: null, commit: 10 } })).rejects.toThrow(
      /term goes back/,
    );
    await expect(storage.save({ hardState: { term: 1, vote: 'a', commit: 9 } })).rejects.toThrow(
      /commit goes back/,
    );
    await expect(storage.save({ hardState: { term: 1, vote: 'a', commit: 11 } })).rejects.toThrow(
      /beyond the last index/,
    );
    await storage.save({ hardState: { term: 2, vote: 'b', commit: 10 } }); // a new term, a new vote
    expect(storage.initialState().hardState).toEqual({ term: 2, vote: 'b', commit: 10 });
    await storage.close();
  });

  test('snapshots: at or below the current one out of date, leader ones not below commit, local ones up to commit', async () => {
    const { storage } = await open(await tempDir());
    await storage.save({
      hardState: { term: 1, vote: null, commit: 6 },
      entries: entries(1, 10, 1),
    });
    const conf = { voters: ['a'], learners: [] };
    await expect(storage.createSnapshot(7, conf, Buffer.from('x'))).rejects.toThrow(
      /commit index 6/,
    );
    const belowCommit = { metadata: { index: 4, term: 1, confState: conf }, data: Buffer.from('') };
    await expect(storage.save({ snapshot: belowCommit })).rejects.toThrow(
      /below the commit index 6/,
    );
    await storage.createSnapshot(5, conf, Buffer.from('5'));
    await expect(storage.createSnapshot(5, conf, Buffer.from('x'))).rejects.toThrow(
      SnapshotOutOfDateError,
    );
    const old = { metadata: { index: 4, term: 1, confState: conf }, data: Buffer.from('4') };
    await expect(storage.save({ snapshot: old })).rejects.toThrow(SnapshotOutOfDateError);
    await storage.close();
  });

  test('limits: entries per save and record size are explicit errors, and nothing is written', async () => {
    const { storage } = await open(await tempDir());
    await storage.save({ hardState: { term: 1, vote: null, commit: 0 } });
    const many = Array.from({ length: MAX_ENTRIES_PER_SAVE + 1 }, (_, i) => entry(i + 1, 1, ''));
    await expect(storage.save({ entries: many })).rejects.toThrow(StorageLimitError);
    const huge = [{ ...entry(1, 1), data: Buffer.alloc(MAX_RECORD_BYTES) }];
    await expect(storage.save({ entries: huge })).rejects.toThrow(/record limit/);
    expect(storage.lastIndex()).toBe(0);
    await storage.save({ entries: entries(1, 1, 1) });
    await storage.close();
  });

  test('a failed write fails the instance for good; a restart recovers what was durable', async () => {
    const dir = await tempDir();
    const { storage } = await open(dir);
    await storage.save({ hardState: { term: 1, vote: 'a', commit: 2 }, entries: entries(1, 3, 1) });
    // The disk fails under the open segment (closing its descriptor makes the next write EBADF).
    await (storage as unknown as { active: { close(): Promise<void> } }).active.close();
    await expect(storage.save({ entries: entries(4, 4, 1) })).rejects.toThrow(/EBADF|closed/);
    await expect(storage.save({ entries: entries(4, 4, 1) })).rejects.toThrow(StorageFailedError);
    await expect(storage.compact(1)).rejects.toThrow(StorageFailedError);
    expect([storage.lastIndex(), storage.initialState().hardState.commit]).toEqual([3, 2]);
    await storage.close().catch(() => undefined);
    const { storage: reopened, recovery } = await open(dir);
    expect(recovery).toMatchObject({ lastIndex: 3, repairs: [] });
    await reopened.close();
  });

  test('mutations after close are refused', async () => {
    const storage = await tenEntries();
    await storage.close();
    await expect(storage.save({ entries: entries(11, 11, 1) })).rejects.toThrow(/closed/);
    expect(storage.lastIndex()).toBe(10);
  });
});
