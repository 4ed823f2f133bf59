/**
 * The few file-system moves durability rests on. A write is durable only once the file is
 * fsynced; a file's existence, name or removal only once its directory is fsynced.
 */
import { mkdir, open, rename, type FileHandle } from 'node:fs/promises';
import path from 'node:path';

/** Suffix of files being written; a leftover one is an interrupted write, removed on open. */
export const TEMP_SUFFIX = '.tmp';

/** fsync a directory, making creations, renames and removals in it durable. */
export async function fsyncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Creates `dir` (and parents) if missing; a newly created one is made durable in its parent. */
export async function ensureDirectory(dir: string): Promise<boolean> {
  const first = await mkdir(dir, { recursive: true });
  if (first === undefined) return false;
  // Every directory from `first` down was created: fsync each one's parent, deepest last.
  let current = path.resolve(dir);
  const created = [current];
  while (current !== path.resolve(first)) {
    current = path.dirname(current);
    created.push(current);
  }
  for (const made of created.reverse()) await fsyncDirectory(path.dirname(made));
  return true;
}

/** Writes all of `parts` at `position`, looping over short writes. Returns the bytes written. */
export async function writeAll(
  handle: FileHandle,
  parts: readonly Buffer[],
  position: number,
): Promise<number> {
  let pending = parts.filter((part) => part.length > 0);
  let offset = position;
  while (pending.length > 0) {
    const { bytesWritten } = await handle.writev(pending, offset);
    if (bytesWritten <= 0) throw new Error(`writev wrote ${bytesWritten} bytes`);
    offset += bytesWritten;
    let skip = bytesWritten;
    const rest: Buffer[] = [];
    for (const part of pending) {
      if (skip >= part.length) {
        skip -= part.length;
      } else {
        rest.push(skip > 0 ? part.subarray(skip) : part);
        skip = 0;
      }
    }
    pending = rest;
  }
  return offset - position;
}

/**
 * Replaces `dir/name` atomically and durably: write `name.tmp`, fsync it, rename over `name`,
 * fsync the directory. After a crash the file is either entirely old or entirely new, never torn.
 */
export async function writeFileAtomically(
  dir: string,
  name: string,
  parts: readonly Buffer[],
): Promise<void> {
  const target = path.join(dir, name);
  const temp = target + TEMP_SUFFIX;
  const handle = await open(temp, 'w');
  try {
    await writeAll(handle, parts, 0);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, target);
  await fsyncDirectory(dir);
}
