/**
 * Snapshot files `snap-<term>-<index>.snap` (both numbers zero-padded to 20 digits):
 *
 *   magic "QSRSNP01" ‖ frame([index, term, voters, learners, dataLength, dataCrc32]) ‖ data
 *
 * The data follows unframed (it may be empty) and is covered by the CRC in the header. A file is
 * valid only if magic, frame, data checksum and exact length all check out and the metadata
 * matches the file name. Written atomically (temp, fsync, rename, fsync dir). The newest
 * SNAPSHOTS_KEPT are kept; which damaged snapshot may be skipped is decided in recovery.ts.
 */
import { readFile, readdir, unlink } from 'node:fs/promises';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import type { Snapshot } from '../types.js';
import { fsyncDirectory, writeFileAtomically } from './durable-fs.js';
import { StorageLimitError } from './errors.js';
import { MAX_METADATA_BYTES, MAX_SNAPSHOT_BYTES } from './limits.js';
import { decodeSnapshotHeader, encodeSnapshotHeader } from './payload-codec.js';
import { MAGIC, MAGIC_BYTES, frameParts, hasMagic, readFrame } from './record-codec.js';

const NAME_PATTERN = /^snap-(\d{20})-(\d{20})\.snap$/;

export interface SnapshotFileName {
  readonly file: string;
  readonly term: number;
  readonly index: number;
}

export function snapshotFileName(term: number, index: number): string {
  return `snap-${String(term).padStart(20, '0')}-${String(index).padStart(20, '0')}.snap`;
}

export function parseSnapshotFileName(file: string): SnapshotFileName | null {
  const match = NAME_PATTERN.exec(file);
  if (!match) return null;
  const term = Number(match[1]);
  const index = Number(match[2]);
  if (!Number.isSafeInteger(term) || !Number.isSafeInteger(index)) return null;
  return { file, term, index };
}

/** Snapshot files in `names`, newest (highest index) first. */
export function snapshotFilesNewestFirst(names: readonly string[]): SnapshotFileName[] {
  return names
    .map(parseSnapshotFileName)
    .filter((name): name is SnapshotFileName => name !== null)
    .sort((a, b) => b.index - a.index || b.term - a.term);
}

/** A snapshot file that cannot be used, and why. */
export class SnapshotFileError extends Error {
  override readonly name = 'SnapshotFileError';

  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`snapshot ${file} is unusable: ${reason}`);
  }
}

export async function readSnapshotFile(dir: string, name: SnapshotFileName): Promise<Snapshot> {
  const bytes = await readFile(path.join(dir, name.file));
  const bad = (reason: string): never => {
    throw new SnapshotFileError(name.file, reason);
  };
  if (!hasMagic(bytes, MAGIC.snapshot)) bad('bad magic');
  const frame = readFrame(bytes, MAGIC_BYTES, MAX_METADATA_BYTES);
  if (!frame.ok) return bad(frame.reason);
  let header;
  try {
    header = decodeSnapshotHeader(frame.payload);
  } catch (error) {
    return bad((error as Error).message);
  }
  const { metadata, dataLength, dataCrc } = header;
  if (bytes.length - frame.end !== dataLength) {
    bad(`data is ${bytes.length - frame.end} bytes, header says ${dataLength}`);
  }
  const data = bytes.subarray(frame.end);
  if (crc32(data) !== dataCrc) bad('data checksum mismatch');
  if (metadata.index !== name.index || metadata.term !== name.term) {
    bad(`holds term ${metadata.term} index ${metadata.index}, not what its name says`);
  }
  return { metadata, data };
}

/** The header of `snapshot`'s file; throws StorageLimitError (call it before any I/O). */
export function snapshotFileHeader(snapshot: Snapshot): Buffer {
  const { metadata, data } = snapshot;
  if (data.length > MAX_SNAPSHOT_BYTES) {
    throw new StorageLimitError(
      `snapshot data is ${data.length} bytes, above the limit of ${MAX_SNAPSHOT_BYTES}`,
    );
  }
  const header = encodeSnapshotHeader({ metadata, dataLength: data.length, dataCrc: crc32(data) });
  if (header.length > MAX_METADATA_BYTES) {
    throw new StorageLimitError(
      `snapshot metadata encodes to ${header.length} bytes, above the limit of ${MAX_METADATA_BYTES}`,
    );
  }
  return header;
}

/** Writes `snapshot` durably with the header from `snapshotFileHeader`; returns its file name. */
export async function writeSnapshotFile(
  dir: string,
  snapshot: Snapshot,
  header: Buffer,
): Promise<string> {
  const file = snapshotFileName(snapshot.metadata.term, snapshot.metadata.index);
  await writeFileAtomically(dir, file, [MAGIC.snapshot, ...frameParts(header), snapshot.data]);
  return file;
}

/**
 * Deletes all snapshot files except the newest `keep` (and never `current`); returns the deleted
 * names. Removal is made durable before returning.
 */
export async function pruneSnapshotFiles(
  dir: string,
  keep: number,
  current: string,
): Promise<string[]> {
  const files = snapshotFilesNewestFirst(await readdir(dir));
  const doomed = files.slice(keep).filter((name) => name.file !== current);
  for (const name of doomed) await unlink(path.join(dir, name.file));
  if (doomed.length > 0) await fsyncDirectory(dir);
  return doomed.map((name) => name.file);
}
