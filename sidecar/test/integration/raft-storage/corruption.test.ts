/**
 * Durable Raft storage: damage that could lose acknowledged or committed data stops start-up
 * with a StorageCorruptionError naming the file (and offset), and changes nothing on disk;
 * damage the design can route around (an older snapshot plus the log) is repaired and reported.
 */
import { readFile, readdir, rename, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { StorageCorruptionError } from '../../../src/raft/storage/index.js';
import {
  copyDir,
  entries,
  fileSize,
  flipBit,
  lastSegment,
  open,
  plain,
  allEntries,
  removeTempDirs,
  segmentFiles,
  snapshotFiles,
  snapshotOfDir,
  tempDir,
} from './helpers.js';

afterAll(removeTempDirs);

/** Expects opening `dir` to fail with a corruption error, leaving every file as it was. */
async function expectRefused(
  dir: string,
  file: string | RegExp,
  offset?: number,
): Promise<StorageCorruptionError> {
  const before = await snapshotOfDir(dir);
  const error = await open(dir).then(
    async ({ storage }) => {
      await storage.close();
      throw new Error('open succeeded');
    },
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(StorageCorruptionError);
  const corruption = error as StorageCorruptionError;
  if (typeof file === 'string') expect(corruption.file).toBe(file);
  else expect(corruption.message).toMatch(file);
  if (offset !== undefined) expect(corruption.offset).toBe(offset);
  expect(corruption.message).toMatch(/wiped and re-synced/);
  expect(await snapshotOfDir(dir)).toEqual(before);
  return corruption;
}

describe('corruption in the log', () => {
  test('a damaged record followed by valid ones: refused, naming segment and offset', async () => {
    const dir = await tempDir();
    const { storage } = await open(dir);
    await storage.save({ hardState: { term: 1, vote: 'a', commit: 0 } });
    const segmentPath = await lastSegment(dir);
    const offsets: number[] = [];
    for (let index = 1; index <= 30; index += 3) {
      offsets.push(await fileSize(segmentPath));
      await storage.save({
        entries: entries(index, index + 2, 1),
        hardState: { term: 1, vote: 'a', commit: index },
      });
    }
    await storage.close();
    const segment = path.basename(segmentPath);
    for (const victim of [offsets[0]!, offsets[4]!, offsets.at(-2)!]) {
      for (const within of [1, 6, 20]) {
        const copy = await copyDir(dir);
        await flipBit(path.join(copy, segment), victim + within, 3);
        const error = await expectRefused(copy, segment, victim);
        expect(error.message).toMatch(
          new RegExp(`followed by a valid record.*\\[${segment} @${victim}\\]`),
        );
      }
    }
  });

  test('a damaged record in a sealed (not the last) segment is refused even at its end', async () => {
    const dir = await tempDir();
    const { storage } = await open(dir, { segmentBytes: 1024 });
    await storage.save({ hardState: { term: 1, vote: null, commit: 0 } });
    for (let index = 1; index <= 100; index += 5)
      await storage.save({ entries: entries(index, index + 4, 1) });
    await storage.close();
    const files = await segmentFiles(dir);
    expect(files.length).toBeGreaterThan(2);
    const sealed = files[0]!;
    const size = await fileSize(path.join(dir, sealed));
    await flipBit(path.join(dir, sealed), size - 2);
    const error = await expectRefused(dir, sealed);
    expect(error.message).toMatch(/sealed segment/);
  });

  test('a damaged segment header is refused', async () => {
    const dir = await tempDir();
    const { storage } = await open(dir);
    await storage.save({
      hardState: { term: 1, vote: null, commit: 0 },
      entries: entries(1, 3, 1),
    });
    await storage.close();
    const segmentPath = await lastSegment(dir);
    await flipBit(segmentPath, 14);
    await expectRefused(dir, path.basename(segmentPath), 8);
  });

  test('a missing segment the log needs is refused (entries missing)', async () => {
    const dir = await tempDir();
    const { storage } = await open(dir, { segmentBytes: 1024 });
    await storage.save({ hardState: { term: 1, vote: null, commit: 0 } });
    for (let index = 1; index <= 100; index += 5)
      await storage.save({ entries: entries(index, index + 4, 1) });
    await storage.close();
    const files = await segmentFiles(dir);

    const missingFirst = await copyDir(dir);
    await unlink(path.join(missingFirst, files[0]!));
    await expectRefused(missingFirst, /entries 1\.\.\d+ are missing/);

    // A hole: the segments before it look like leftovers of an interrupted compaction and are
    // skipped, but the log after the snapshot then lacks their entries.
    const missingMiddle = await copyDir(dir);
    await unlink(path.join(missingMiddle, files[1]!));
    await expectRefused(missingMiddle, /are missing/);
  });
});

describe('corruption of the hard state', () => {
  async function withHardState(): Promise<string> {
    const dir = await tempDir();
    const { storage } = await open(dir);
    await storage.save({
      hardState: { term: 7, vote: 'n2', commit: 2 },
      entries: entries(1, 3, 7),
    });
    await storage.close();
    return dir;
  }

  test('a flipped bit anywhere in the hard-state file is refused', async () => {
    const dir = await withHardState();
    const size = await fileSize(path.join(dir, 'hardstate'));
    for (let offset = 0; offset < size; offset++) {
      const copy = await copyDir(dir);
      await flipBit(path.join(copy, 'hardstate'), offset, offset % 8);
      const error = await expectRefused(copy, 'hardstate');
      expect(error.message).toMatch(/hard state file is corrupt/);
    }
  });

  test('a truncated or missing hard-state file is refused', async () => {
    const dir = await withHardState();
    const bytes = await readFile(path.join(dir, 'hardstate'));
    await writeFile(path.join(dir, 'hardstate'), bytes.subarray(0, bytes.length - 1));
    await expectRefused(dir, 'hardstate');
    await unlink(path.join(dir, 'hardstate'));
    const error = await expectRefused(dir, 'hardstate');
    expect(error.message).toMatch(/hard state file missing/);
  });
});

describe('corruption of snapshots', () => {
  const PADDING = 'x'.repeat(100);

  /** Snapshots at 10 and 20 (both kept), the log compacted to 10, entries up to 30. */
  async function twoSnapshots(compactTo: number): Promise<string> {
    const dir = await tempDir();
    const { storage } = await open(dir, { segmentBytes: 1024 });
    await storage.save({ hardState: { term: 1, vote: null, commit: 0 } });
    for (let index = 1; index <= 30; index += 5) {
      // About one save per 1 KiB segment, so compaction deletes segments.
      await storage.save({
        entries: entries(index, index + 4, 1, PADDING),
        hardState: { term: 1, vote: null, commit: index + 4 },
      });
    }
    const conf = { voters: ['a'], learners: [] };
    await storage.createSnapshot(5, conf, Buffer.from('five'));
    await storage.createSnapshot(10, conf, Buffer.from('ten'));
    await storage.createSnapshot(20, conf, Buffer.from('twenty'));
    await storage.compact(compactTo);
    await storage.close();
    expect(await snapshotFiles(dir)).toHaveLength(2); // the newest two are kept
    return dir;
  }

  test('a damaged newest snapshot is skipped when the older one plus the log cover it', async () => {
    const dir = await twoSnapshots(10);
    const [older, newest] = await snapshotFiles(dir);
    await flipBit(path.join(dir, newest!), (await fileSize(path.join(dir, newest!))) - 1);
    const { storage, recovery } = await open(dir, { segmentBytes: 1024 });
    expect(recovery.repairs).toEqual([
      expect.objectContaining({ kind: 'corruptSnapshotSkipped', file: newest }),
    ]);
    expect(recovery.snapshot).toMatchObject({ index: 10, file: older });
    expect([storage.firstIndex(), storage.lastIndex()]).toEqual([11, 30]);
    expect(storage.snapshot().data.toString()).toBe('ten');
    expect(plain(allEntries(storage))).toEqual(plain(entries(11, 30, 1, PADDING)));
    expect((await readdir(dir)).filter((name) => name.endsWith('.corrupt'))).toEqual([
      `${newest}.corrupt`,
    ]);
    await storage.close();
  });

  test('a damaged newest snapshot the log no longer covers is refused', async () => {
    const dir = await twoSnapshots(20);
    const newest = (await snapshotFiles(dir))[1]!;
    const bytes = await readFile(path.join(dir, newest));
    await writeFile(path.join(dir, newest), bytes.subarray(0, bytes.length - 2));
    const error = await expectRefused(dir, newest);
    expect(error.message).toMatch(/cannot replace it: entries 11\.\.\d+ are missing/);
  });

  test('a snapshot whose content disagrees with its name counts as damaged', async () => {
    const dir = await twoSnapshots(10);
    const newest = (await snapshotFiles(dir))[1]!;
    const renamed = 'snap-00000000000000000001-00000000000000000025.snap';
    await rename(path.join(dir, newest), path.join(dir, renamed));
    const { storage, recovery } = await open(dir, { segmentBytes: 1024 });
    expect(recovery.repairs).toEqual([
      expect.objectContaining({
        kind: 'corruptSnapshotSkipped',
        file: renamed,
        message: expect.stringMatching(/not what its name says/),
      }),
    ]);
    expect(recovery.snapshot?.index).toBe(10);
    await storage.close();
  });
});
