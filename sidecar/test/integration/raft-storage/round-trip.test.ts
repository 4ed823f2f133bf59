/**
 * Durable Raft storage: what is saved is what a later open finds — entries, hard state,
 * snapshots with their conf state — across close/open, segment rolls and truncations.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { writeHardStateFile } from '../../../src/raft/storage/hard-state-file.js';
import { snapshotFileHeader, writeSnapshotFile } from '../../../src/raft/storage/snapshot-files.js';
import { EMPTY_HARD_STATE, encodeConfChange } from '../../../src/raft/types.js';
import {
  allEntries,
  entries,
  entry,
  open,
  plain,
  removeTempDirs,
  reopen,
  segmentFiles,
  tempDir,
} from './helpers.js';

afterAll(removeTempDirs);

describe('durable raft storage round trips', () => {
  test('a new directory opens empty, and reopens empty', async () => {
    const dir = path.join(await tempDir(), 'nested', 'data');
    const first = await open(dir);
    expect(first.recovery).toMatchObject({
      fresh: true,
      snapshot: null,
      firstIndex: 1,
      lastIndex: 0,
      entries: 0,
      segments: 1,
      repairs: [],
    });
    const { storage } = first;
    expect(storage.initialState()).toEqual({
      hardState: EMPTY_HARD_STATE,
      confState: { voters: [], learners: [] },
    });
    expect([storage.firstIndex(), storage.lastIndex(), storage.term(0)]).toEqual([1, 0, 0]);
    expect(storage.snapshot().metadata.index).toBe(0);

    const again = await reopen(storage, dir);
    expect(again.recovery).toMatchObject({ fresh: false, lastIndex: 0, repairs: [] });
    await again.storage.close();
  });

  test('entries and hard state survive close/open', async () => {
    const dir = await tempDir();
    const { storage } = await open(dir);
    const conf = {
      ...entry(3, 2),
      type: 'confChange' as const,
      data: encodeConfChange({ type: 'addVoter', node: 'n4' }),
    };
    await storage.save({
      hardState: { term: 1, vote: 'n1', commit: 0 },
      entries: entries(1, 2, 1),
    });
    await storage.save({
      hardState: { term: 2, vote: 'n2', commit: 2 },
      entries: [conf, entry(4, 2, '')],
    });
    await storage.save({ hardState: { term: 2, vote: 'n2', commit: 4 } });
    const before = plain(allEntries(storage));

    const { storage: reopened, recovery } = await reopen(storage, dir);
    expect(recovery).toMatchObject({
      fresh: false,
      firstIndex: 1,
      lastIndex: 4,
      entries: 4,
      repairs: [],
    });
    expect(recovery.hardState).toEqual({ term: 2, vote: 'n2', commit: 4 });
    expect(plain(allEntries(reopened))).toEqual(before);
    expect(reopened.entries(3, 4)[0]!.type).toBe('confChange');
    expect(reopened.entries(4, 5)[0]!.data.length).toBe(0);
    expect(reopened.initialState().hardState).toEqual({ term: 2, vote: 'n2', commit: 4 });
    await reopened.close();
  });

  test('a snapshot with its conf state, and the log after it, survive close/open', async () => {
    const dir = await tempDir();
    const { storage } = await open(dir);
    await storage.save({
      hardState: { term: 3, vote: 'a', commit: 8 },
      entries: entries(1, 10, 3),
    });
    const confState = { voters: ['a', 'b', 'c'], learners: ['d'] };
    const data = Buffer.from('state machine at 8');
    const made = await storage.createSnapshot(8, confState, data);
    expect(made.metadata).toEqual({ index: 8, term: 3, confState });
    await storage.compact(8);

    const { storage: reopened, recovery } = await reopen(storage, dir);
    expect(recovery.snapshot).toMatchObject({ index: 8, term: 3 });
    expect(recovery).toMatchObject({ firstIndex: 9, lastIndex: 10, repairs: [] });
    expect(reopened.snapshot().metadata).toEqual({ index: 8, term: 3, confState });
    expect(reopened.snapshot().data.equals(data)).toBe(true);
    expect(reopened.initialState().confState).toEqual(confState);
    expect(reopened.term(8)).toBe(3);
    expect(plain(allEntries(reopened))).toEqual(plain(entries(9, 10, 3)));
    await reopened.close();
  });

  test('without compaction the log restarts after the snapshot on reopen', async () => {
    const dir = await tempDir();
    const { storage } = await open(dir);
    await storage.save({
      hardState: { term: 1, vote: null, commit: 5 },
      entries: entries(1, 6, 1),
    });
    await storage.createSnapshot(4, { voters: ['a'], learners: [] }, Buffer.from('s4'));
    expect(storage.firstIndex()).toBe(1); // createSnapshot does not compact
    const { storage: reopened } = await reopen(storage, dir);
    expect([reopened.firstIndex(), reopened.lastIndex(), reopened.term(4)]).toEqual([5, 6, 1]);
    await reopened.close();
  });

  test('a snapshot received from a leader replaces the log, also after reopen', async () => {
    const dir = await tempDir();
    const { storage } = await open(dir);
    await storage.save({
      hardState: { term: 2, vote: null, commit: 3 },
      entries: entries(1, 6, 2),
    });
    const snapshot = {
      metadata: { index: 20, term: 4, confState: { voters: ['x', 'y'], learners: [] } },
      data: Buffer.from('leader state at 20'),
    };
    await storage.save({
      snapshot,
      hardState: { term: 4, vote: null, commit: 3 },
      entries: [...entries(19, 20, 4), ...entries(21, 22, 4)], // ≤ 20 are covered and ignored
    });
    expect([storage.firstIndex(), storage.lastIndex(), storage.term(20)]).toEqual([21, 22, 4]);
    expect(storage.initialState().hardState.commit).toBe(20); // a snapshot is committed state

    const { storage: reopened, recovery } = await reopen(storage, dir);
    expect(recovery).toMatchObject({ firstIndex: 21, lastIndex: 22, repairs: [] });
    expect(reopened.snapshot().data.toString()).toBe('leader state at 20');
    expect(reopened.initialState()).toEqual({
      hardState: { term: 4, vote: null, commit: 20 },
      confState: { voters: ['x', 'y'], learners: [] },
    });
    expect(plain(allEntries(reopened))).toEqual(plain(entries(21, 22, 4)));
    await reopened.close();
  });

  test('a leader snapshot behind the log end still discards the whole log', async () => {
    const dir = await tempDir();
    const { storage } = await open(dir);
    await storage.save({
      hardState: { term: 2, vote: null, commit: 2 },
      entries: entries(1, 10, 2),
    });
    const snapshot = {
      metadata: { index: 5, term: 2, confState: { voters: ['a'], learners: [] } },
      data: Buffer.from('5'),
    };
    await storage.save({ snapshot });
    expect([storage.firstIndex(), storage.lastIndex()]).toEqual([6, 5]);
    const { storage: reopened } = await reopen(storage, dir);
    expect([reopened.firstIndex(), reopened.lastIndex(), reopened.term(5)]).toEqual([6, 5, 2]);
    await reopened.close();
  });

  test('a conflicting suffix is truncated, and stays truncated across restarts', async () => {
    const dir = await tempDir();
    const { storage } = await open(dir, { segmentBytes: 1024 });
    await storage.save({
      hardState: { term: 1, vote: 'a', commit: 3 },
      entries: entries(1, 30, 1),
    });
    await storage.save({ hardState: { term: 2, vote: 'b', commit: 3 }, entries: entries(6, 8, 2) });
    expect(storage.lastIndex()).toBe(8);
    let { storage: reopened } = await reopen(storage, dir, { segmentBytes: 1024 });
    const expected = [...entries(1, 5, 1), ...entries(6, 8, 2)];
    expect(plain(allEntries(reopened))).toEqual(plain(expected));

    // More appends after the truncation, over several segments, and a second truncation.
    for (let index = 9; index <= 60; index += 4) {
      await reopened.save({ entries: entries(index, index + 3, 2) });
    }
    await reopened.save({
      hardState: { term: 3, vote: 'c', commit: 40 },
      entries: entries(45, 46, 3),
    });
    expect((await segmentFiles(dir)).length).toBeGreaterThan(2);
    ({ storage: reopened } = await reopen(reopened, dir, { segmentBytes: 1024 }));
    expect(plain(allEntries(reopened))).toEqual(
      plain([...expected, ...entries(9, 44, 2), ...entries(45, 46, 3)]),
    );
    expect(reopened.initialState().hardState).toEqual({ term: 3, vote: 'c', commit: 40 });
    await reopened.close();
  });

  test('entries spread over many segments survive reopen', async () => {
    const dir = await tempDir();
    const { storage } = await open(dir, { segmentBytes: 2048 });
    await storage.save({ hardState: { term: 1, vote: null, commit: 0 } });
    for (let index = 1; index <= 200; index += 10) {
      await storage.save({ entries: entries(index, index + 9, 1, '-'.repeat(30)) });
    }
    const files = await segmentFiles(dir);
    expect(files.length).toBeGreaterThan(3);
    const { storage: reopened, recovery } = await reopen(storage, dir, { segmentBytes: 2048 });
    expect(recovery).toMatchObject({ lastIndex: 200, segments: files.length, repairs: [] });
    expect(plain(allEntries(reopened))).toEqual(plain(entries(1, 200, 1, '-'.repeat(30))));
    await reopened.close();
  });

  test('a log ahead of the stored term (crash before the hard state was written) adopts its term', async () => {
    const dir = await tempDir();
    const { storage } = await open(dir);
    await storage.save({ hardState: { term: 5, vote: 'a', commit: 2 }, entries: entries(1, 3, 5) });
    await storage.close();
    // What a crash between the WAL fsync and the hard-state rename leaves behind.
    await writeHardStateFile(dir, { term: 4, vote: 'z', commit: 1 });
    const { storage: reopened, recovery } = await open(dir);
    expect(recovery.hardState).toEqual({ term: 5, vote: null, commit: 2 });
    expect(recovery.repairs).toEqual([
      expect.objectContaining({ kind: 'termRaised', from: 4, to: 5 }),
    ]);
    await reopened.close();
  });

  test('a leader snapshot stored but not its log reset (crash between): disagreeing entries are dropped', async () => {
    const conf = { voters: ['a', 'b'], learners: [] };
    for (const [term, dropped] of [
      [2, true], // the log has term 1 at index 8, the snapshot term 2: entries 9.. diverge
      [1, false], // same term at index 8: the log continues the snapshot's history
    ] as const) {
      const dir = await tempDir();
      const { storage } = await open(dir);
      await storage.save({
        hardState: { term: 2, vote: null, commit: 3 },
        entries: entries(1, 10, 1),
      });
      await storage.close();
      const snapshot = { metadata: { index: 8, term, confState: conf }, data: Buffer.from('s8') };
      await writeSnapshotFile(dir, snapshot, snapshotFileHeader(snapshot));

      const { storage: reopened, recovery } = await open(dir);
      expect(recovery.snapshot).toMatchObject({ index: 8, term });
      expect(recovery.hardState.commit).toBe(8);
      if (dropped) {
        expect(recovery.repairs).toEqual([
          expect.objectContaining({ kind: 'divergentEntriesDropped', count: 2 }),
        ]);
        expect([reopened.firstIndex(), reopened.lastIndex(), reopened.term(8)]).toEqual([9, 8, 2]);
      } else {
        expect(recovery.repairs).toEqual([]);
        expect(plain(allEntries(reopened))).toEqual(plain(entries(9, 10, 1)));
      }
      // The repair itself is durable: the next start finds a consistent log and appends work.
      await reopened.save({
        entries: entries(reopened.lastIndex() + 1, reopened.lastIndex() + 1, 2),
      });
      const { storage: third, recovery: again } = await reopen(reopened, dir);
      expect(again.repairs).toEqual([]);
      expect(third.lastIndex()).toBe(dropped ? 9 : 11);
      await third.close();
    }
  });

  test('interrupted atomic writes (temp files) are removed and reported', async () => {
    const dir = await tempDir();
    const { storage } = await open(dir);
    await storage.save({
      hardState: { term: 1, vote: null, commit: 0 },
      entries: entries(1, 2, 1),
    });
    await storage.close();
    await writeFile(path.join(dir, 'hardstate.tmp'), 'half written');
    const { storage: reopened, recovery } = await open(dir);
    expect(recovery.repairs).toEqual([
      expect.objectContaining({ kind: 'tempFileRemoved', file: 'hardstate.tmp' }),
    ]);
    expect(reopened.lastIndex()).toBe(2);
    await reopened.close();
  });

  test('one directory cannot be opened twice in a process', async () => {
    const dir = await tempDir();
    const { storage } = await open(dir);
    await expect(open(dir)).rejects.toThrow(/already open/);
    await storage.close();
    const { storage: again } = await open(dir);
    await again.close();
  });
});
