/** Shared helpers of the durable Raft storage tests: temporary data directories and entries. */
import { cp, mkdtemp, readFile, readdir, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  DurableRaftStorage,
  type DurableRaftStorageOptions,
  type RecoveryReport,
} from '../../../src/raft/storage/index.js';
import type { Entry, EntryType } from '../../../src/raft/types.js';

const created: string[] = [];

/** A new empty directory, removed by `removeTempDirs`. */
export async function tempDir(label = 'raft-storage'): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), `${label}-`));
  created.push(dir);
  return dir;
}

export async function removeTempDirs(): Promise<void> {
  await Promise.all(created.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
}

/** A copy of `dir` in a new temporary directory (to damage a copy, not the original). */
export async function copyDir(dir: string): Promise<string> {
  const copy = await tempDir('raft-storage-copy');
  await cp(dir, copy, { recursive: true });
  return copy;
}

export function entry(
  index: number,
  term: number,
  data?: string,
  type: EntryType = 'normal',
): Entry {
  return { index, term, type, data: Buffer.from(data ?? `entry-${index}-term-${term}`) };
}

/** Entries [from, to] (inclusive), all of `term`. */
export function entries(from: number, to: number, term: number, tag = ''): Entry[] {
  const result: Entry[] = [];
  for (let index = from; index <= to; index++) {
    result.push(entry(index, term, `entry-${index}-term-${term}${tag}`));
  }
  return result;
}

export async function open(
  dir: string,
  options?: DurableRaftStorageOptions,
): Promise<{ storage: DurableRaftStorage; recovery: RecoveryReport }> {
  return DurableRaftStorage.open(dir, options);
}

/** Closes `storage` and opens `dir` again. */
export async function reopen(
  storage: DurableRaftStorage,
  dir: string,
  options?: DurableRaftStorageOptions,
): Promise<{ storage: DurableRaftStorage; recovery: RecoveryReport }> {
  await storage.close();
  return DurableRaftStorage.open(dir, options);
}

/** Entries as plain comparable values. */
export function plain(
  list: readonly Entry[],
): { index: number; term: number; type: string; data: string }[] {
  return list.map((e) => ({
    index: e.index,
    term: e.term,
    type: e.type,
    data: e.data.toString('hex'),
  }));
}

/** Every entry the storage holds, first to last. */
export function allEntries(storage: DurableRaftStorage): Entry[] {
  return storage.entries(storage.firstIndex(), storage.lastIndex() + 1);
}

export async function segmentFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => /^wal-.*\.log$/.test(name)).sort();
}

export async function snapshotFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => /^snap-.*\.snap$/.test(name)).sort();
}

export async function lastSegment(dir: string): Promise<string> {
  const files = await segmentFiles(dir);
  const last = files.at(-1);
  if (last === undefined) throw new Error(`no segment in ${dir}`);
  return path.join(dir, last);
}

export async function fileSize(file: string): Promise<number> {
  return (await stat(file)).size;
}

export async function cutFile(file: string, length: number): Promise<void> {
  await truncate(file, length);
}

/** Flips bit `bit` (0..7) of the byte at `offset`. */
export async function flipBit(file: string, offset: number, bit = 0): Promise<void> {
  const bytes = await readFile(file);
  if (offset < 0 || offset >= bytes.length) throw new Error(`offset ${offset} outside ${file}`);
  bytes[offset] = bytes[offset]! ^ (1 << bit);
  await writeFile(file, bytes);
}

/** Every file of `dir` with its contents, to prove a refused start changed nothing. */
export async function snapshotOfDir(dir: string): Promise<Record<string, string>> {
  const result: Record<string, string> = {};
  for (const name of (await readdir(dir)).sort()) {
    result[name] = (await readFile(path.join(dir, name))).toString('base64');
  }
  return result;
}
