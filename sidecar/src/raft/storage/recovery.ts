/**
 * Start-up: reads the data directory, decides what it holds, repairs what a crash can leave
 * behind, and refuses (StorageCorruptionError) whatever could lose acknowledged or committed data
 * if ignored. All checks run before any repair is written, so a refused start modifies nothing.
 * The policy itself is stated in durable-storage.ts.
 */
import { readdir, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import {
  EMPTY_CONF_STATE,
  EMPTY_HARD_STATE,
  type Entry,
  type HardState,
  type Snapshot,
} from '../types.js';
import { TEMP_SUFFIX, ensureDirectory, fsyncDirectory } from './durable-fs.js';
import { StorageCorruptionError } from './errors.js';
import { HARD_STATE_FILE, readHardStateFile, writeHardStateFile } from './hard-state-file.js';
import {
  SegmentWriter,
  scanSegment,
  segmentFilesInOrder,
  truncateSegment,
  type SegmentName,
} from './segment-file.js';
import {
  SnapshotFileError,
  readSnapshotFile,
  snapshotFilesNewestFirst,
  type SnapshotFileName,
} from './snapshot-files.js';
import { encodeBatch } from './payload-codec.js';
import { frameParts } from './record-codec.js';
import { ReplayError, WalReplay } from './wal-replay.js';

export const EMPTY_SNAPSHOT: Snapshot = {
  metadata: { index: 0, term: 0, confState: EMPTY_CONF_STATE },
  data: Buffer.alloc(0),
};

/** Suffix given to a damaged snapshot file that was skipped: kept for inspection, never read. */
export const CORRUPT_SUFFIX = '.corrupt';

/** One thing recovery repaired; `message` is the human-readable account. */
export type RecoveryRepair =
  | { readonly kind: 'tempFileRemoved'; readonly file: string; readonly message: string }
  | {
      readonly kind: 'tornTailTruncated';
      readonly file: string;
      readonly offset: number;
      readonly bytes: number;
      readonly message: string;
    }
  | { readonly kind: 'corruptSnapshotSkipped'; readonly file: string; readonly message: string }
  | { readonly kind: 'staleSegmentRemoved'; readonly file: string; readonly message: string }
  | { readonly kind: 'divergentEntriesDropped'; readonly count: number; readonly message: string }
  | {
      readonly kind: 'termRaised';
      readonly from: number;
      readonly to: number;
      readonly message: string;
    };

export interface RecoveryReport {
  readonly dir: string;
  /** Nothing was there: a new, empty node. */
  readonly fresh: boolean;
  /** The snapshot the log continues from (null: none, the log starts at index 1). */
  readonly snapshot: {
    readonly index: number;
    readonly term: number;
    readonly file: string;
  } | null;
  readonly hardState: HardState;
  readonly firstIndex: number;
  readonly lastIndex: number;
  /** Entries held in memory (lastIndex - firstIndex + 1). */
  readonly entries: number;
  /** WAL segment files in use. */
  readonly segments: number;
  /** Empty after a clean shutdown. */
  readonly repairs: readonly RecoveryRepair[];
  readonly durationMs: number;
}

/** Everything the storage starts from. */
export interface RecoveredState {
  readonly snapshot: Snapshot;
  readonly entries: Entry[];
  readonly sources: number[];
  readonly hardState: HardState;
  /** Retained segments, in order; the last is the one `active` appends to. */
  readonly segments: SegmentName[];
  readonly active: SegmentWriter;
  readonly report: RecoveryReport;
}

function corruption(error: unknown, file?: string, offset?: number): never {
  if (error instanceof ReplayError) {
    throw new StorageCorruptionError(`WAL cannot be replayed: ${error.message}`, file, offset);
  }
  throw error;
}

interface LoadedSnapshot {
  readonly snapshot: Snapshot;
  readonly file: string | null;
  /** Newer snapshot files that failed their checks. */
  readonly skipped: readonly SnapshotFileError[];
  readonly skippedNames: readonly SnapshotFileName[];
}

/** The newest snapshot that passes its checks; whether skipping newer ones is allowed is decided later. */
async function loadNewestSnapshot(
  dir: string,
  names: readonly SnapshotFileName[],
): Promise<LoadedSnapshot> {
  const skipped: SnapshotFileError[] = [];
  const skippedNames: SnapshotFileName[] = [];
  for (const name of names) {
    try {
      return {
        snapshot: await readSnapshotFile(dir, name),
        file: name.file,
        skipped,
        skippedNames,
      };
    } catch (error) {
      if (!(error instanceof SnapshotFileError)) throw error;
      skipped.push(error);
      skippedNames.push(name);
    }
  }
  return { snapshot: EMPTY_SNAPSHOT, file: null, skipped, skippedNames };
}

/** Segments that replay must read: those after the last hole in the numbering. */
function contiguousTail(segments: readonly SegmentName[]): {
  used: SegmentName[];
  stale: SegmentName[];
} {
  let from = 0;
  for (let i = 1; i < segments.length; i++) {
    if (segments[i]!.seq === segments[i - 1]!.seq) {
      throw new StorageCorruptionError(
        `two WAL segments with seq ${segments[i]!.seq}`,
        segments[i]!.file,
      );
    }
    if (segments[i]!.seq !== segments[i - 1]!.seq + 1) from = i;
  }
  return { used: segments.slice(from), stale: segments.slice(0, from) };
}

interface SegmentsReplayed {
  readonly replay: WalReplay;
  readonly tornTail: {
    readonly segment: SegmentName;
    readonly offset: number;
    readonly bytes: number;
    readonly reason: string;
  } | null;
  /** Where appending to the last segment continues, and where its records start. */
  readonly activeEnd: number;
  readonly activeHeaderEnd: number;
}

/** Scans `segments` in order and replays their batches; throws on corruption. */
async function replaySegments(
  dir: string,
  segments: readonly SegmentName[],
): Promise<SegmentsReplayed> {
  const replay = new WalReplay();
  let tornTail: SegmentsReplayed['tornTail'] = null;
  let activeEnd = 0;
  let activeHeaderEnd = 0;
  for (const [i, segment] of segments.entries()) {
    const isLast = i === segments.length - 1;
    const scan = await scanSegment(dir, segment, isLast);
    try {
      replay.observeCommit(scan.header.commit);
    } catch (error) {
      corruption(error, segment.file);
    }
    for (const record of scan.records) {
      try {
        replay.apply(record.batch, segment.seq);
      } catch (error) {
        corruption(error, segment.file, record.offset);
      }
    }
    if (scan.tornTail !== null) tornTail = { segment, ...scan.tornTail };
    if (isLast) {
      activeEnd = scan.validEnd;
      activeHeaderEnd = scan.records[0]?.offset ?? scan.validEnd;
    }
  }
  return { replay, tornTail, activeEnd, activeHeaderEnd };
}

export async function recover(dir: string, logger?: Logger): Promise<RecoveredState> {
  const started = performance.now();
  await ensureDirectory(dir);
  const names = await readdir(dir);
  const repairs: RecoveryRepair[] = [];

  const tempFiles = names.filter((name) => name.endsWith(TEMP_SUFFIX));
  const allSegments = segmentFilesInOrder(names);
  const snapshotNames = snapshotFilesNewestFirst(names);
  const storedHardState = await readHardStateFile(dir);
  const fresh = storedHardState === null && allSegments.length === 0 && snapshotNames.length === 0;
  if (storedHardState === null && !fresh) {
    // Created before any segment or snapshot: without it the node's vote is lost.
    throw new StorageCorruptionError(
      `hard state file missing while ${allSegments.length} WAL segments and ` +
        `${snapshotNames.length} snapshots exist`,
      HARD_STATE_FILE,
    );
  }

  // ---- read and check everything ---------------------------------------------------------------
  const loaded = await loadNewestSnapshot(dir, snapshotNames);
  const { index: snapIndex, term: snapTerm } = loaded.snapshot.metadata;

  const { used, stale } = contiguousTail(allSegments);
  const { replay, tornTail, activeEnd, activeHeaderEnd } = await replaySegments(dir, used);

  // A damaged newest snapshot may be skipped only if the older one plus the log cover it.
  const newestSkipped = loaded.skippedNames[0];
  const cannotSkip = (why: string): never => {
    throw new StorageCorruptionError(
      `newest snapshot unusable (${loaded.skipped.map((e) => e.message).join('; ')}) and the ` +
        `older snapshot at index ${snapIndex} plus the log cannot replace it: ${why}`,
      newestSkipped?.file,
    );
  };
  let result;
  try {
    result = replay.finish(snapIndex, snapTerm);
  } catch (error) {
    if (newestSkipped !== undefined && error instanceof ReplayError) cannotSkip(error.message);
    corruption(error);
  }
  const lastIndex = snapIndex + result.entries.length;
  const lastTerm = result.entries.at(-1)?.term ?? snapTerm;
  if (newestSkipped !== undefined && newestSkipped.index > lastIndex) {
    cannotSkip(`the log ends at index ${lastIndex}, before ${newestSkipped.index}`);
  }

  // Commit only moves forward and is at least the snapshot (snapshots hold committed state).
  const fileState = storedHardState ?? EMPTY_HARD_STATE;
  const commit = Math.max(fileState.commit, result.commit, snapIndex);
  if (commit > lastIndex) {
    throw new StorageCorruptionError(
      `commit index ${commit} is beyond the recovered log (last index ${lastIndex}): ` +
        'committed entries are missing',
    );
  }
  // Entries and snapshot of a save are durable before its term/vote: a crash in between leaves
  // the log ahead of the stored term. Adopting the log's term with no vote is what receiving a
  // message of that term does, so it is always safe.
  let hardState: HardState = { ...fileState, commit };
  if (lastTerm > fileState.term) hardState = { term: lastTerm, vote: null, commit };

  // ---- repair ------------------------------------------------------------------------------------
  const repair = (item: RecoveryRepair): void => {
    repairs.push(item);
    logger?.warn({ repair: item }, `raft storage recovery: ${item.message}`);
  };
  for (const file of tempFiles) {
    await unlink(path.join(dir, file));
    repair({ kind: 'tempFileRemoved', file, message: `removed interrupted write ${file}` });
  }
  if (tornTail !== null) {
    const { segment, offset, bytes, reason } = tornTail;
    await truncateSegment(dir, segment.file, offset);
    repair({
      kind: 'tornTailTruncated',
      file: segment.file,
      offset,
      bytes,
      message:
        `truncated torn tail at offset ${offset} of segment ${segment.file}, ` +
        `${bytes} bytes dropped (${reason})`,
    });
  }
  for (const error of loaded.skipped) {
    await rename(path.join(dir, error.file), path.join(dir, error.file + CORRUPT_SUFFIX));
    repair({
      kind: 'corruptSnapshotSkipped',
      file: error.file,
      message: `${error.message}; renamed to ${error.file}${CORRUPT_SUFFIX}, using the older snapshot plus the log`,
    });
  }
  for (const segment of stale) {
    await unlink(path.join(dir, segment.file));
    repair({
      kind: 'staleSegmentRemoved',
      file: segment.file,
      message: `removed ${segment.file}: older than a hole in the segment numbering (interrupted compaction)`,
    });
  }
  if (result.divergent !== null) {
    repair({
      kind: 'divergentEntriesDropped',
      count: result.divergent.dropped,
      message:
        `dropped ${result.divergent.dropped} entries after index ${snapIndex}: the log has term ` +
        `${result.divergent.term} there, the snapshot term ${snapTerm} (crash while installing a leader snapshot)`,
    });
  }
  if (hardState.term !== fileState.term) {
    repair({
      kind: 'termRaised',
      from: fileState.term,
      to: hardState.term,
      message: `raised term from ${fileState.term} to ${hardState.term}, the last term in the log`,
    });
  }
  if (fresh || hardState.term !== fileState.term) await writeHardStateFile(dir, hardState);
  if (repairs.length > 0) await fsyncDirectory(dir);

  // ---- open the segment to append to -------------------------------------------------------------
  let segments = used;
  let active: SegmentWriter;
  const last = used.at(-1);
  if (last !== undefined && result.divergent === null) {
    active = await SegmentWriter.reopen(dir, last, activeEnd, activeHeaderEnd);
  } else {
    // A new data directory, or a log that must restart at the snapshot (divergent entries): the
    // latter is recorded as a reset, so the next replay drops them too.
    const seq = (allSegments.at(-1)?.seq ?? 0) + 1;
    active = await SegmentWriter.create(dir, { seq, firstIndex: lastIndex + 1, commit });
    if (result.divergent !== null) {
      const reset = { index: snapIndex, term: snapTerm };
      await active.append(frameParts(encodeBatch({ commit, reset, entries: [] })));
    }
    segments = [...used, active.name];
  }

  const snapshotFile = loaded.file;
  const report: RecoveryReport = {
    dir,
    fresh,
    snapshot:
      snapshotFile === null ? null : { index: snapIndex, term: snapTerm, file: snapshotFile },
    hardState,
    firstIndex: snapIndex + 1,
    lastIndex,
    entries: result.entries.length,
    segments: segments.length,
    repairs,
    durationMs: Math.round(performance.now() - started),
  };
  return {
    snapshot: loaded.snapshot,
    entries: result.entries,
    sources: result.sources,
    hardState,
    segments,
    active,
    report,
  };
}
