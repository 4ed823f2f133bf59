/**
 * Durable Raft storage: a torn or damaged LAST record (a crash during the last save) is detected
 * and truncated, reported, and the log continues consistently after it.
 */
import path from 'node:path';
import { writeFile, appendFile } from 'node:fs/promises';
import type { RecoveryRepair } from '../../../src/raft/storage/index.js';
import { prng, seedFrom } from '../../support/random.js';
import {
  allEntries,
  copyDir,
  cutFile,
  entries,
  fileSize,
  flipBit,
  lastSegment,
  open,
  plain,
  removeTempDirs,
  reopen,
} from './helpers.js';
import { tempDir } from './helpers.js';

afterAll(removeTempDirs);

const BEFORE = entries(1, 20, 1);
const LAST_SAVE = entries(21, 23, 2, '-last-save');

/**
 * A directory whose last segment ends with the record of LAST_SAVE, and that record's offsets.
 * (Built once; each case damages a copy.)
 */
async function pristine(): Promise<{ dir: string; segment: string; start: number; end: number }> {
  const dir = await tempDir();
  const { storage } = await open(dir);
  await storage.save({
    hardState: { term: 1, vote: 'a', commit: 10 },
    entries: BEFORE.slice(0, 10),
  });
  await storage.save({ entries: BEFORE.slice(10) });
  await storage.save({ hardState: { term: 2, vote: 'b', commit: 15 } });
  const segmentPath = await lastSegment(dir);
  const start = await fileSize(segmentPath);
  await storage.save({ hardState: { term: 2, vote: 'b', commit: 21 }, entries: LAST_SAVE });
  const end = await fileSize(segmentPath);
  await storage.close();
  return { dir, segment: path.basename(segmentPath), start, end };
}

function tornRepair(repairs: readonly RecoveryRepair[]): RecoveryRepair | undefined {
  return repairs.find((repair) => repair.kind === 'tornTailTruncated');
}

/** Opens a damaged copy; expects the last save gone, the repair reported, and a working log. */
async function expectRecovered(
  dir: string,
  segment: string,
  start: number,
  bytes: number,
): Promise<void> {
  const { storage, recovery } = await open(dir);
  expect(recovery.repairs).toEqual([
    {
      kind: 'tornTailTruncated',
      file: segment,
      offset: start,
      bytes,
      message: expect.stringContaining(
        `truncated torn tail at offset ${start} of segment ${segment}, ${bytes} bytes dropped`,
      ),
    },
  ]);
  expect(recovery.lastIndex).toBe(20);
  expect(recovery.hardState).toEqual({ term: 2, vote: 'b', commit: 15 });
  expect(plain(allEntries(storage))).toEqual(plain(BEFORE));

  // The log goes on where the valid part ended, and stays consistent across another restart.
  await storage.save({
    hardState: { term: 2, vote: 'b', commit: 21 },
    entries: entries(21, 22, 2, '-after'),
  });
  expect(await fileSize(path.join(dir, segment))).toBeGreaterThan(start);
  const { storage: again, recovery: second } = await reopen(storage, dir);
  expect(second.repairs).toEqual([]);
  expect(plain(allEntries(again))).toEqual(plain([...BEFORE, ...entries(21, 22, 2, '-after')]));
  expect(again.initialState().hardState.commit).toBe(21);
  await again.close();
}

describe('torn tail', () => {
  test('truncated at every byte offset inside the last record: recovered, reported, consistent', async () => {
    const { dir, segment, start, end } = await pristine();
    expect(end - start).toBeGreaterThan(40);
    for (let cut = start + 1; cut < end; cut++) {
      const copy = await copyDir(dir);
      await cutFile(path.join(copy, segment), cut);
      await expectRecovered(copy, segment, start, cut - start);
    }
    // Cut exactly at the record boundary: a clean end, nothing to repair.
    const copy = await copyDir(dir);
    await cutFile(path.join(copy, segment), start);
    const { storage, recovery } = await open(copy);
    expect(recovery.repairs).toEqual([]);
    expect(storage.lastIndex()).toBe(20);
    await storage.close();
  });

  test('a flipped bit anywhere in the last record is detected and truncated', async () => {
    const { dir, segment, start, end } = await pristine();
    const random = prng(seedFrom('RAFT_STORAGE_SEED', 'torn-tail bit flips'));
    for (let offset = start; offset < end; offset++) {
      const copy = await copyDir(dir);
      await flipBit(path.join(copy, segment), offset, Math.floor(random() * 8));
      await expectRecovered(copy, segment, start, end - start);
    }
  });

  test('zeros or garbage after the last record (a crash while extending the file) are truncated', async () => {
    const { dir, segment, end } = await pristine();
    for (const tail of [Buffer.alloc(4096), Buffer.from('not a record at all')]) {
      const copy = await copyDir(dir);
      await appendFile(path.join(copy, segment), tail);
      const { storage, recovery } = await open(copy);
      expect(tornRepair(recovery.repairs)).toMatchObject({ offset: end, bytes: tail.length });
      expect(storage.lastIndex()).toBe(23);
      await storage.close();
    }
  });

  test('a torn record in a segment that had just been started', async () => {
    const dir = await tempDir();
    const { storage } = await open(dir, { segmentBytes: 1024 });
    await storage.save({ hardState: { term: 1, vote: null, commit: 0 } });
    let index = 1;
    while ((await fileSize(await lastSegment(dir))) < 900) {
      await storage.save({ entries: entries(index, index + 1, 1) });
      index += 2;
    }
    const before = path.basename(await lastSegment(dir));
    await storage.save({ entries: entries(index, index + 4, 1, '-in-new-segment') });
    const segmentPath = await lastSegment(dir);
    expect(path.basename(segmentPath)).not.toBe(before);
    await storage.close();
    const size = await fileSize(segmentPath);
    await cutFile(segmentPath, size - 3);
    const { storage: reopened, recovery } = await open(dir, { segmentBytes: 1024 });
    expect(tornRepair(recovery.repairs)).toMatchObject({ file: path.basename(segmentPath) });
    expect(reopened.lastIndex()).toBe(index - 1);
    await reopened.save({ entries: entries(index, index, 1) });
    const { storage: third } = await reopen(reopened, dir, { segmentBytes: 1024 });
    expect(third.lastIndex()).toBe(index);
    await third.close();
  });

  test('a shorter-than-a-header tail in an otherwise empty file is a torn tail too', async () => {
    const dir = await tempDir();
    const { storage } = await open(dir);
    await storage.close();
    const segmentPath = await lastSegment(dir);
    const size = await fileSize(segmentPath);
    await writeFile(segmentPath, Buffer.from([1, 2, 3]), { flag: 'a' });
    const { storage: reopened, recovery } = await open(dir);
    expect(tornRepair(recovery.repairs)).toMatchObject({ offset: size, bytes: 3 });
    await reopened.close();
  });
});
