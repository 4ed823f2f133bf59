/**
 * DurableRaftStorage: the Raft log, hard state and snapshots on local disk (the pod's PVC), with
 * the live log (entries since the snapshot) held in memory for the synchronous RaftStorage reads.
 *
 * ## Files in the data directory
 *
 *   hardstate                  term, vote (+ the commit index of that moment): hard-state-file.ts
 *   wal-<seq>-<firstIndex>.log WAL segments: segment-file.ts
 *   snap-<term>-<index>.snap   the newest two snapshots: snapshot-files.ts
 *   *.tmp                      an interrupted atomic write (removed on open)
 *   *.snap.corrupt             a damaged snapshot that recovery skipped (kept for inspection)
 * Every file starts with an 8-byte magic naming its kind and format version, followed by
 * checksummed frames (record-codec.ts: u32 length, CRC-32 of payload, CRC-32 of header) whose
 * payloads are msgpack (payload-codec.ts); a snapshot's data follows its header frame, covered
 * by a CRC-32 in it. Other names (lost+found on a PVC root) are ignored.
 *
 * Modules: save-plan.ts checks a save before any I/O; recovery.ts and wal-replay.ts rebuild the
 * state at open; durable-fs.ts holds the fsync/rename primitives.
 *
 * ## One save() = one WAL record = one fdatasync
 *
 * A save's snapshot reset, entries and commit index are encoded as ONE record (a "batch"), so a
 * save is atomic in the log and costs a single fdatasync of the active segment — group commit
 * for any number of entries. A conflicting suffix is never overwritten in place: the batch
 * records "truncate from my first index, then append" and replay applies it (wal-replay.ts).
 * Overwriting in place could, after a crash, leave new bytes followed by surviving old records
 * of an older term — a log that breaks Raft's log matching property.
 *
 * Extra fsyncs only where something other than the log changes:
 *   - term or vote changed (elections): the hard-state file is replaced atomically after the
 *     batch is durable (temp, fsync, rename, fsync dir). The commit index, which changes on
 *     nearly every save, is in the batch instead — rewriting the file per save would triple
 *     the fsyncs on the commit path.
 *   - a snapshot (from the leader, or createSnapshot): its file is written atomically first.
 *   - the segment is full: the next one is created (complete header, fsync, rename, fsync dir).
 *   - compaction and snapshots delete files: one directory fsync after the removals.
 * Order within a save: snapshot file → WAL batch → hard-state file. Losing a suffix of these in a
 * crash is safe (the save had not resolved, so nothing depending on it was sent); recovery
 * handles each case: log ahead of the stored term → adopt the log's term with no vote; snapshot
 * stored but not the log reset → drop the log entries that disagree with the snapshot.
 *
 * ## Corruption policy (applied at open; nothing is modified unless start-up succeeds)
 *
 *   - Last segment, an invalid record (short, bad checksum, past end of file) with no valid
 *     record anywhere after it: a torn write of the last, unacknowledged save. Truncated there,
 *     the truncation fsynced, and reported (RecoveryReport.repairs).
 *     Because a save is one record and a save starts only after the previous one was fsynced, a
 *     valid record can follow a damaged one only if the damaged one had been durable: so
 *   - an invalid record FOLLOWED BY a valid one, an invalid record in any earlier (sealed)
 *     segment, a damaged segment header, or a checksum-valid record that does not decode:
 *     StorageCorruptionError naming the file and offset; start-up stops. The operator wipes the
 *     data directory and the node re-syncs from the leader.
 *     Limit: damage to the very last record of the newest segment cannot be told from a torn
 *     write, so that one record is truncated; if it had been acknowledged this loses the last
 *     batch of this one node (the universal WAL trade-off, etcd's too). A recovered log that
 *     ends below the hard-state file's commit index is refused.
 *   - hardstate damaged or missing (when anything else exists): error. No fallback copy: an
 *     older copy may hold an older vote, and using it could make this node vote twice.
 *   - Newest snapshot damaged: skipped (renamed *.corrupt, reported) only if an older valid
 *     snapshot plus the log reach its index; otherwise error.
 *   - A hole in the segment numbering (an interrupted compaction): segments before it are
 *     removed; replay must still reach down to the snapshot, or error (entries missing).
 *   Not detected: the loss of the entire NEWEST segment file (nothing points forward to it);
 *   only a hard-state commit index beyond the remaining log reveals it. Segment creation is
 *   fsynced (file and directory) before any record goes into it, so no crash causes this.
 *
 * ## Memory and limits
 *
 * The log since the last compaction is in memory; the driver bounds it by snapshotting and
 * compacting every N entries. After a restart the log starts after the newest snapshot. Limits
 * (limits.ts): a save ≤ 10,000 entries and ≤ 64 MiB encoded, snapshot data ≤ 1 GiB.
 *
 * ## Failure
 *
 * Mutations are serialized. If any write, fsync, rename or unlink fails, the instance is failed
 * for good (StorageFailedError): after a failed fsync the kernel may have dropped the dirty
 * pages, so neither retrying nor appending after a possibly half-written record is safe. The
 * process restarts and recovery repairs the tail. Reads keep answering from memory, which holds
 * only what was durable.
 */
import { unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import {
  CompactedError,
  UnavailableError,
  type ConfState,
  type Entry,
  type HardState,
  type DurableRaftLog,
  type Snapshot,
} from '../types.js';
import { fsyncDirectory } from './durable-fs.js';
import {
  SnapshotOutOfDateError,
  StorageContractError,
  StorageFailedError,
  invariant,
} from './errors.js';
import { writeHardStateFile } from './hard-state-file.js';
import {
  DEFAULT_SEGMENT_BYTES,
  MAX_SEGMENT_BYTES,
  MIN_SEGMENT_BYTES,
  SNAPSHOTS_KEPT,
} from './limits.js';
import { frameParts, frameSize } from './record-codec.js';
import { recover, type RecoveryReport } from './recovery.js';
import { assertConfState, planSave, type SavePlan, type StorageUpdate } from './save-plan.js';
import { SegmentWriter, type SegmentName } from './segment-file.js';
import { pruneSnapshotFiles, snapshotFileHeader, writeSnapshotFile } from './snapshot-files.js';

export type { StorageUpdate } from './save-plan.js';

export interface DurableRaftStorageOptions {
  readonly logger?: Logger;
  /** Segment size at which a new segment is started (default 64 MiB). */
  readonly segmentBytes?: number;
}

/** Data directories open in this process: two instances on one directory would corrupt it. */
const openDirectories = new Set<string>();

export class DurableRaftStorage implements DurableRaftLog {
  private snap: Snapshot;
  /** Index and term of the entry just before the log held in memory (compaction point). */
  private offsetIndex: number;
  private offsetTerm: number;
  private readonly log: Entry[];
  /** Per entry of `log`, the seq of the segment holding it; non-decreasing. */
  private readonly sources: number[];
  private hard: HardState;
  /** Term and vote as stored in the hard-state file. */
  private stored: { readonly term: number; readonly vote: string | null };
  private readonly segments: SegmentName[];
  private active: SegmentWriter;
  /** Mutations run one after another: each starts when the previous one settled. */
  private queue: Promise<unknown> = Promise.resolve();
  private failure: Error | null = null;
  private closed = false;

  private constructor(
    private readonly dir: string,
    private readonly segmentBytes: number,
    private readonly logger: Logger | undefined,
    state: Awaited<ReturnType<typeof recover>>,
  ) {
    this.snap = state.snapshot;
    this.offsetIndex = state.snapshot.metadata.index;
    this.offsetTerm = state.snapshot.metadata.term;
    this.log = state.entries;
    this.sources = state.sources;
    this.hard = state.hardState;
    this.stored = { term: state.hardState.term, vote: state.hardState.vote };
    this.segments = state.segments;
    this.active = state.active;
  }

  /**
   * Opens (creating if needed) the data directory `dir`, recovering what a crash left behind.
   * Throws StorageCorruptionError, changing nothing, when the files cannot be trusted.
   */
  static async open(
    dir: string,
    options: DurableRaftStorageOptions = {},
  ): Promise<{ storage: DurableRaftStorage; recovery: RecoveryReport }> {
    const segmentBytes = options.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
    if (
      !Number.isSafeInteger(segmentBytes) ||
      segmentBytes < MIN_SEGMENT_BYTES ||
      segmentBytes > MAX_SEGMENT_BYTES
    ) {
      throw new RangeError(
        `segmentBytes must be an integer in [${MIN_SEGMENT_BYTES}, ${MAX_SEGMENT_BYTES}], got ${segmentBytes}`,
      );
    }
    const resolved = path.resolve(dir);
    if (openDirectories.has(resolved)) {
      throw new Error(`raft storage in ${resolved} is already open in this process`);
    }
    openDirectories.add(resolved);
    try {
      const state = await recover(resolved, options.logger);
      const storage = new DurableRaftStorage(resolved, segmentBytes, options.logger, state);
      const { report } = state;
      options.logger?.info(
        {
          dir: resolved,
          firstIndex: report.firstIndex,
          lastIndex: report.lastIndex,
          snapshotIndex: report.snapshot?.index ?? 0,
          segments: report.segments,
          repairs: report.repairs.length,
          durationMs: report.durationMs,
        },
        'raft storage opened',
      );
      return { storage, recovery: report };
    } catch (error) {
      openDirectories.delete(resolved);
      throw error;
    }
  }

  // ---- RaftStorage: synchronous reads of what is durable -----------------------------------------

  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: this.hard, confState: this.snap.metadata.confState };
  }

  entries(lo: number, hi: number, maxBytes: number = Number.POSITIVE_INFINITY): Entry[] {
    if (!Number.isSafeInteger(lo) || !Number.isSafeInteger(hi) || lo > hi || !(maxBytes >= 0)) {
      throw new StorageContractError(`invalid entries request [${lo}, ${hi}) maxBytes ${maxBytes}`);
    }
    if (lo <= this.offsetIndex) {
      throw new CompactedError(`entry ${lo} is compacted (first index ${this.offsetIndex + 1})`);
    }
    const last = this.lastIndex();
    if (hi > last + 1) {
      throw new UnavailableError(`entries up to ${hi - 1} requested, last index is ${last}`);
    }
    const result: Entry[] = [];
    let bytes = 0;
    for (let index = lo; index < hi; index++) {
      const entry = this.log[index - this.offsetIndex - 1]!;
      bytes += entry.data.length;
      if (result.length > 0 && bytes > maxBytes) break;
      result.push(entry);
    }
    return result;
  }

  term(index: number): number {
    if (!Number.isSafeInteger(index)) throw new StorageContractError(`invalid index ${index}`);
    if (index === this.offsetIndex) return this.offsetTerm;
    if (index < this.offsetIndex) {
      throw new CompactedError(`entry ${index} is compacted (first index ${this.offsetIndex + 1})`);
    }
    const entry = this.log[index - this.offsetIndex - 1];
    if (entry === undefined) {
      throw new UnavailableError(`entry ${index} is past the last index ${this.lastIndex()}`);
    }
    return entry.term;
  }

  firstIndex(): number {
    return this.offsetIndex + 1;
  }

  lastIndex(): number {
    return this.offsetIndex + this.log.length;
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  // ---- mutations: each resolves once durable ------------------------------------------------------

  /**
   * Persists a snapshot from the leader (replacing the whole log), entries and the hard state,
   * in that order, with one WAL record; resolves when all of it is durable. Invalid updates are
   * rejected before anything is written (StorageContractError, StorageLimitError,
   * SnapshotOutOfDateError).
   */
  save(update: StorageUpdate): Promise<void> {
    return this.exclusive('save', async () => {
      const plan = planSave(
        {
          snapshot: this.snap,
          offsetIndex: this.offsetIndex,
          offsetTerm: this.offsetTerm,
          log: this.log,
          hardState: this.hard,
          stored: this.stored,
        },
        update,
      );
      const { snapshot, record, writeHardState, hardState } = plan;
      if (snapshot === null && record === null && !writeHardState) return;
      const snapshotFile = await this.durably(async () => {
        const file =
          snapshot === null
            ? null
            : await writeSnapshotFile(this.dir, snapshot.value, snapshot.header);
        if (record !== null) await this.append(record, plan.nextIndex);
        if (writeHardState) await writeHardStateFile(this.dir, hardState);
        return file;
      });
      this.applySave(plan);
      if (snapshotFile !== null) {
        // The log restarted after the snapshot: older segments and snapshots are garbage.
        await this.durably(async () => {
          await pruneSnapshotFiles(this.dir, SNAPSHOTS_KEPT, snapshotFile);
          await this.deleteUnneededSegments();
        });
      }
    });
  }

  /**
   * Records the state machine's snapshot at `index` (applied, so ≤ commit) and returns it. The
   * log is not compacted: call `compact` when followers no longer need the entries.
   */
  createSnapshot(index: number, confState: ConfState, data: Buffer): Promise<Snapshot> {
    return this.exclusive('createSnapshot', async () => {
      assertConfState(confState);
      if (!Buffer.isBuffer(data)) throw new StorageContractError('snapshot data must be a Buffer');
      if (!Number.isSafeInteger(index) || index <= this.snap.metadata.index) {
        throw new SnapshotOutOfDateError(
          `snapshot at ${index} requested, the current one is at ${this.snap.metadata.index}`,
        );
      }
      if (index > this.hard.commit) {
        throw new StorageContractError(
          `snapshot at ${index} is beyond the commit index ${this.hard.commit}`,
        );
      }
      const snapshot: Snapshot = {
        metadata: { index, term: this.term(index), confState: copyConfState(confState) },
        data,
      };
      const header = snapshotFileHeader(snapshot);
      await this.durably(async () => {
        const file = await writeSnapshotFile(this.dir, snapshot, header);
        await pruneSnapshotFiles(this.dir, SNAPSHOTS_KEPT, file);
      });
      this.snap = snapshot;
      return snapshot;
    });
  }

  /**
   * Drops the entries up to `index` (≤ the snapshot index) from memory and deletes the WAL
   * segments no longer needed to rebuild the log after the snapshot.
   */
  compact(index: number): Promise<void> {
    return this.exclusive('compact', async () => {
      if (!Number.isSafeInteger(index)) throw new StorageContractError(`invalid index ${index}`);
      if (index <= this.offsetIndex) {
        throw new CompactedError(`already compacted up to ${this.offsetIndex}, asked ${index}`);
      }
      if (index > this.snap.metadata.index) {
        throw new StorageContractError(
          `cannot compact to ${index}, beyond the snapshot at ${this.snap.metadata.index}`,
        );
      }
      const dropped = index - this.offsetIndex;
      this.offsetTerm = this.term(index);
      this.log.splice(0, dropped);
      this.sources.splice(0, dropped);
      this.offsetIndex = index;
      await this.durably(() => this.deleteUnneededSegments());
    });
  }

  /** Waits for pending mutations, then closes the files. Reads keep working; mutations fail. */
  close(): Promise<void> {
    const closing = this.queue.then(async () => {
      if (this.closed) return;
      this.closed = true;
      openDirectories.delete(this.dir);
      await this.active.close();
    });
    this.queue = closing.catch(() => undefined);
    return closing;
  }

  // ---- internals ----------------------------------------------------------------------------------

  private exclusive<T>(operation: string, action: () => Promise<T>): Promise<T> {
    const run = this.queue.then(() => {
      if (this.closed) throw new Error(`raft storage ${operation}: closed`);
      if (this.failure !== null) {
        throw new StorageFailedError(
          `raft storage ${operation}: an earlier write failed (${this.failure.message}); ` +
            'restart the process to recover',
          { cause: this.failure },
        );
      }
      return action();
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Runs file I/O; a failure fails the instance for good (see the header comment). */
  private async durably<T>(io: () => Promise<T>): Promise<T> {
    try {
      return await io();
    } catch (error) {
      this.failure = error instanceof Error ? error : new Error(String(error));
      this.logger?.error({ err: this.failure, dir: this.dir }, 'raft storage write failed');
      throw error;
    }
  }

  /** Appends one record durably, first starting a new segment if this one is full. */
  private async append(record: Buffer, nextIndex: number): Promise<void> {
    if (this.active.hasRecords && this.active.size + frameSize(record) > this.segmentBytes) {
      const sealed = this.active;
      const header = { seq: sealed.name.seq + 1, firstIndex: nextIndex, commit: this.hard.commit };
      this.active = await SegmentWriter.create(this.dir, header);
      this.segments.push(this.active.name);
      await sealed.close();
      this.logger?.debug({ segment: this.active.name.file }, 'raft storage: new WAL segment');
    }
    await this.active.append(frameParts(record));
  }

  /** Makes the in-memory state match what `plan` made durable. */
  private applySave(plan: SavePlan): void {
    if (plan.snapshot !== null) {
      this.snap = plan.snapshot.value;
      this.offsetIndex = this.snap.metadata.index;
      this.offsetTerm = this.snap.metadata.term;
      this.log.length = 0;
      this.sources.length = 0;
    }
    const first = plan.entries[0];
    if (first !== undefined) {
      const kept = first.index - this.offsetIndex - 1;
      invariant(kept >= 0 && kept <= this.log.length, `append at ${first.index} out of range`);
      this.log.length = kept;
      this.sources.length = kept;
      const seq = this.active.name.seq;
      for (const entry of plan.entries) {
        this.log.push(entry);
        this.sources.push(seq);
      }
    }
    this.hard = plan.hardState;
    if (plan.writeHardState) this.stored = { term: plan.hardState.term, vote: plan.hardState.vote };
  }

  /**
   * Deletes the segments before the one holding the oldest entry still in memory (all of them
   * but the active one if the log is empty). Replay from the remaining ones rebuilds the log
   * after the snapshot: see wal-replay.ts.
   */
  private async deleteUnneededSegments(): Promise<void> {
    const needed = this.sources[0] ?? this.active.name.seq;
    let removed = 0;
    while (this.segments.length > 1 && this.segments[0]!.seq < needed) {
      // Oldest first: a crash part-way leaves a contiguous tail, or a hole recovery handles.
      await unlink(path.join(this.dir, this.segments[0]!.file));
      this.segments.shift();
      removed++;
    }
    if (removed > 0) {
      await fsyncDirectory(this.dir);
      this.logger?.debug({ removed, needed }, 'raft storage: deleted compacted WAL segments');
    }
  }
}

function copyConfState(confState: ConfState): ConfState {
  return { voters: [...confState.voters], learners: [...confState.learners] };
}
