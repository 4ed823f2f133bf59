/**
 * Durable Raft storage: compaction and leader snapshots reclaim disk by deleting whole WAL
 * segments (never rewriting one), keep the newest two snapshot files, and what remains still
 * rebuilds the log on open.
 */
import { copyFile } from 'node:fs/promises';
import path from 'node:path';
import {
  allEntries,
  copyDir,
  entries,
  open,
  plain,
  removeTempDirs,
  reopen,
  segmentFiles,
  snapshotFiles,
  tempDir,
} from './helpers.js';

afterAll(removeTempDirs);

const SEGMENT_BYTES = 1024;
const PADDING = 'p'.repeat(60);
const CONF = { voters: ['a', 'b', 'c'], learners: [] };

/** Entries 1..100 in saves of 5, commit 100, in many 1 KiB segments. */
async function longLog(): Promise<{ dir: string; segments: string[] }> {
  const dir = await tempDir();
  const { storage } = await open(dir, { segmentBytes: SEGMENT_BYTES });
  await storage.save({ hardState: { term: 1, vote: 'a', commit: 0 } });
  for (let index = 1; index <= 100; index += 5) {
    await storage.save({
      entries: entries(index, index + 4, 1, PADDING),
      hardState: { term: 1, vote: 'a', commit: index + 4 },
    });
  }
  await storage.close();
  return { dir, segments: await segmentFiles(dir) };
}

function firstIndexOf(segment: string): number {
  return Number(/^wal-\d+-(\d+)\.log$/.exec(segment)![1]);
}

describe('compaction', () => {
  test('deletes exactly the whole segments below the compaction point, and the rest reopens', async () => {
    const { dir, segments } = await longLog();
    expect(segments.length).toBeGreaterThan(8);
    const { storage } = await open(dir, { segmentBytes: SEGMENT_BYTES });
    await storage.createSnapshot(60, CONF, Buffer.from('sixty'));
    await storage.compact(50);

    // The segment holding entry 51 and all later ones stay; every earlier one is gone.
    const holding51 = segments.filter((s) => firstIndexOf(s) <= 51).at(-1)!;
    const kept = segments.slice(segments.indexOf(holding51));
    expect(await segmentFiles(dir)).toEqual(kept);
    expect([storage.firstIndex(), storage.lastIndex()]).toEqual([51, 100]);

    const { storage: reopened, recovery } = await reopen(storage, dir, {
      segmentBytes: SEGMENT_BYTES,
    });
    expect(recovery).toMatchObject({
      firstIndex: 61,
      lastIndex: 100,
      segments: kept.length,
      repairs: [],
    });
    expect(plain(allEntries(reopened))).toEqual(plain(entries(61, 100, 1, PADDING)));
    await reopened.close();
  });

  test('compacting everything keeps only the active segment; appends continue', async () => {
    const { dir, segments } = await longLog();
    const { storage } = await open(dir, { segmentBytes: SEGMENT_BYTES });
    await storage.createSnapshot(100, CONF, Buffer.from('all'));
    await storage.compact(100);
    expect(await segmentFiles(dir)).toEqual([segments.at(-1)]);
    expect([storage.firstIndex(), storage.lastIndex(), storage.term(100)]).toEqual([101, 100, 1]);
    await storage.save({ entries: entries(101, 102, 1) });
    const { storage: reopened, recovery } = await reopen(storage, dir, {
      segmentBytes: SEGMENT_BYTES,
    });
    expect(recovery).toMatchObject({ firstIndex: 101, lastIndex: 102, repairs: [] });
    expect(reopened.initialState().hardState).toEqual({ term: 1, vote: 'a', commit: 100 });
    await reopened.close();
  });

  test('keeps the newest two snapshot files', async () => {
    const { dir } = await longLog();
    const { storage } = await open(dir, { segmentBytes: SEGMENT_BYTES });
    for (const index of [10, 20, 30, 40])
      await storage.createSnapshot(index, CONF, Buffer.from(`s${index}`));
    expect(await snapshotFiles(dir)).toEqual([
      'snap-00000000000000000001-00000000000000000030.snap',
      'snap-00000000000000000001-00000000000000000040.snap',
    ]);
    await storage.close();
  });

  test('a leader snapshot deletes every older segment and snapshot file', async () => {
    const { dir } = await longLog();
    const { storage } = await open(dir, { segmentBytes: SEGMENT_BYTES });
    await storage.createSnapshot(10, CONF, Buffer.from('s10'));
    await storage.createSnapshot(20, CONF, Buffer.from('s20'));
    const snapshot = {
      metadata: { index: 500, term: 2, confState: CONF },
      data: Buffer.from('leader'),
    };
    await storage.save({ snapshot, hardState: { term: 2, vote: null, commit: 100 } });
    const segments = await segmentFiles(dir);
    expect(segments).toHaveLength(1);
    expect(await snapshotFiles(dir)).toEqual([
      'snap-00000000000000000001-00000000000000000020.snap',
      'snap-00000000000000000002-00000000000000000500.snap',
    ]);
    const { storage: reopened, recovery } = await reopen(storage, dir, {
      segmentBytes: SEGMENT_BYTES,
    });
    expect(recovery).toMatchObject({ firstIndex: 501, lastIndex: 500, segments: 1, repairs: [] });
    expect(reopened.initialState().hardState).toEqual({ term: 2, vote: null, commit: 500 });
    await reopened.close();
  });

  test('a segment left behind by an interrupted compaction (a hole in the numbering) is removed', async () => {
    const { dir, segments } = await longLog();
    const backup = await copyDir(dir);
    const { storage } = await open(dir, { segmentBytes: SEGMENT_BYTES });
    await storage.createSnapshot(60, CONF, Buffer.from('sixty'));
    await storage.compact(60);
    await storage.close();
    const remaining = await segmentFiles(dir);
    // The deletion of the first segment did not survive the crash, later ones did.
    await copyFile(path.join(backup, segments[0]!), path.join(dir, segments[0]!));
    const { storage: reopened, recovery } = await open(dir, { segmentBytes: SEGMENT_BYTES });
    expect(recovery.repairs).toEqual([
      expect.objectContaining({ kind: 'staleSegmentRemoved', file: segments[0] }),
    ]);
    expect(await segmentFiles(dir)).toEqual(remaining);
    expect(plain(allEntries(reopened))).toEqual(plain(entries(61, 100, 1, PADDING)));
    await reopened.close();
  });
});
