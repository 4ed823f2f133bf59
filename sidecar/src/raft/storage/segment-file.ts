/**
 * WAL segment files `wal-<seq>-<firstIndex>.log` (seq zero-padded to 10 digits, firstIndex to
 * 20):
 *
 *   magic "QSRWAL01" ‖ frame(segment header) ‖ frame(batch) ‖ frame(batch) ‖ ...
 *
 * Why the sequence number in the name (as etcd's `<seq>-<index>.wal`): a save that truncates a
 * conflicting suffix is appended, not written over the old bytes, so a later segment can start
 * at a lower index than an earlier one; the order of segments is their seq, and a missing
 * segment shows as a hole in the numbering. firstIndex is in the name for operators.
 *
 * A segment is created complete with its header under a temporary name and renamed into place,
 * so a segment file never has a torn header. Records are only ever appended. The last segment
 * is the only one that can end in a torn write: a segment is sealed (the next one created) only
 * after its last write was fsynced.
 */
import { open, readFile, rename, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { TEMP_SUFFIX, fsyncDirectory, writeAll } from './durable-fs.js';
import { StorageCorruptionError, invariant } from './errors.js';
import { MAX_METADATA_BYTES, MAX_RECORD_BYTES } from './limits.js';
import {
  PayloadFormatError,
  decodeBatch,
  decodeSegmentHeader,
  encodeSegmentHeader,
  isBatch,
  type SegmentHeader,
  type WalBatch,
} from './payload-codec.js';
import {
  MAGIC,
  MAGIC_BYTES,
  findValidFrameAfter,
  frameParts,
  hasMagic,
  readFrame,
} from './record-codec.js';

const NAME_PATTERN = /^wal-(\d{10})-(\d{20})\.log$/;

export interface SegmentName {
  readonly file: string;
  readonly seq: number;
  readonly firstIndex: number;
}

export function segmentFileName(seq: number, firstIndex: number): string {
  return `wal-${String(seq).padStart(10, '0')}-${String(firstIndex).padStart(20, '0')}.log`;
}

export function parseSegmentFileName(file: string): SegmentName | null {
  const match = NAME_PATTERN.exec(file);
  if (!match) return null;
  const seq = Number(match[1]);
  const firstIndex = Number(match[2]);
  if (!Number.isSafeInteger(firstIndex)) return null;
  return { file, seq, firstIndex };
}

/** Segment files in `names`, in log order (by seq). */
export function segmentFilesInOrder(names: readonly string[]): SegmentName[] {
  return names
    .map(parseSegmentFileName)
    .filter((name): name is SegmentName => name !== null)
    .sort((a, b) => a.seq - b.seq);
}

export interface ScannedRecord {
  readonly offset: number;
  readonly batch: WalBatch;
}

/** Bytes at the end of the last segment that are not a valid record, with no valid one after. */
export interface TornTail {
  readonly offset: number;
  readonly bytes: number;
  readonly reason: string;
}

export interface SegmentScan {
  readonly header: SegmentHeader;
  readonly records: readonly ScannedRecord[];
  /** Offset just past the last valid record: where appending continues. */
  readonly validEnd: number;
  readonly tornTail: TornTail | null;
}

/**
 * Reads and checks a whole segment.
 *
 * Policy (the reasoning is in durable-storage.ts): an invalid record in a sealed segment
 * (`isLast` false), an invalid header, or a checksum-valid record that does not decode is
 * corruption. In the last segment, an invalid record is a torn tail if no valid record follows
 * it anywhere in the file, and corruption (StorageCorruptionError naming file and offset) if one
 * does.
 */
export async function scanSegment(
  dir: string,
  name: SegmentName,
  isLast: boolean,
): Promise<SegmentScan> {
  const bytes = await readFile(path.join(dir, name.file));
  const corrupt = (why: string, offset: number): never => {
    throw new StorageCorruptionError(`WAL segment corrupt: ${why}`, name.file, offset);
  };
  if (!hasMagic(bytes, MAGIC.segment)) corrupt('bad magic', 0);
  const headerFrame = readFrame(bytes, MAGIC_BYTES, MAX_METADATA_BYTES);
  if (!headerFrame.ok) return corrupt(`segment header: ${headerFrame.reason}`, MAGIC_BYTES);
  let header: SegmentHeader;
  try {
    header = decodeSegmentHeader(headerFrame.payload);
  } catch (error) {
    return corrupt(`segment header: ${(error as Error).message}`, MAGIC_BYTES);
  }
  if (header.seq !== name.seq || header.firstIndex !== name.firstIndex) {
    corrupt(`header says seq ${header.seq} firstIndex ${header.firstIndex}, unlike the name`, 0);
  }

  const records: ScannedRecord[] = [];
  let offset = headerFrame.end;
  while (offset < bytes.length) {
    const frame = readFrame(bytes, offset, MAX_RECORD_BYTES);
    if (!frame.ok) {
      if (!isLast) corrupt(`invalid record in a sealed segment: ${frame.reason}`, offset);
      const next = findValidFrameAfter(bytes, offset, MAX_RECORD_BYTES, isBatch);
      if (next >= 0) {
        corrupt(
          `invalid record (${frame.reason}) followed by a valid record at offset ${next}: ` +
            'damage inside the log, not a torn write',
          offset,
        );
      }
      const tornTail = { offset, bytes: bytes.length - offset, reason: frame.reason };
      return { header, records, validEnd: offset, tornTail };
    }
    try {
      records.push({ offset, batch: decodeBatch(frame.payload) });
    } catch (error) {
      invariant(error instanceof PayloadFormatError, String(error));
      corrupt(`checksum-valid record does not decode: ${error.message}`, offset);
    }
    offset = frame.end;
  }
  return { header, records, validEnd: offset, tornTail: null };
}

/** Cuts a torn tail off the last segment, durably. */
export async function truncateSegment(dir: string, file: string, length: number): Promise<void> {
  const handle = await open(path.join(dir, file), 'r+');
  try {
    await handle.truncate(length);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** The segment being appended to. */
export class SegmentWriter {
  private constructor(
    readonly name: SegmentName,
    private readonly handle: FileHandle,
    private bytes: number,
    /** Size of magic + header: a segment no larger than this holds no record. */
    readonly headerEnd: number,
  ) {}

  /**
   * Creates segment `seq` durably (written complete under a temporary name, fsynced, renamed,
   * directory fsynced) and opens it for appending.
   */
  static async create(dir: string, header: SegmentHeader): Promise<SegmentWriter> {
    const file = segmentFileName(header.seq, header.firstIndex);
    const temp = path.join(dir, file + TEMP_SUFFIX);
    const parts = [MAGIC.segment, ...frameParts(encodeSegmentHeader(header))];
    const handle = await open(temp, 'w+');
    try {
      const size = await writeAll(handle, parts, 0);
      await handle.sync();
      await rename(temp, path.join(dir, file));
      await fsyncDirectory(dir);
      return new SegmentWriter({ file, ...header }, handle, size, size);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /** Opens an existing, already checked segment for appending at `size`. */
  static async reopen(
    dir: string,
    name: SegmentName,
    size: number,
    headerEnd: number,
  ): Promise<SegmentWriter> {
    const handle = await open(path.join(dir, name.file), 'r+');
    const { size: actual } = await handle.stat();
    if (actual !== size) {
      await handle.close();
      invariant(false, `segment ${name.file} is ${actual} bytes, expected ${size}`);
    }
    return new SegmentWriter(name, handle, size, headerEnd);
  }

  get size(): number {
    return this.bytes;
  }

  get hasRecords(): boolean {
    return this.bytes > this.headerEnd;
  }

  /**
   * Appends one record and fdatasyncs: durable when this resolves. fdatasync suffices — it
   * flushes the size change too, which is what reading the new bytes back depends on.
   */
  async append(parts: readonly Buffer[]): Promise<void> {
    const written = await writeAll(this.handle, parts, this.bytes);
    this.bytes += written;
    await this.handle.datasync();
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}
