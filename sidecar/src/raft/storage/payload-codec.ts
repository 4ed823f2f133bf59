/**
 * The msgpack payloads inside frames (record-codec.ts), with strict decoding: a payload whose
 * checksum is right but whose shape is wrong is never "probably fine" — it is a bug or a format
 * version this code does not know, and decoding throws `PayloadFormatError`.
 *
 * Payloads are msgpack arrays (positional: smaller and faster than maps; the first element of a
 * WAL record is its kind, so kinds can be added later):
 *   segment header   [0, seq, firstIndex, commit]
 *   WAL batch        [1, commit, firstIndex, [[term, type, data], ...], reset]
 *                    reset = null | [index, term]
 *   hard state       [term, vote (string | null), commit]
 *   snapshot header  [index, term, voters, learners, dataLength, dataCrc32]
 */
import { Packr } from 'msgpackr';
import type { Entry, EntryType, HardState, NodeId, SnapshotMetadata } from '../types.js';

export class PayloadFormatError extends Error {
  override readonly name = 'PayloadFormatError';
}

// Plain msgpack: no record extension (its shared structures would make payloads depend on each
// other), Buffers round-trip as bin.
const packr = new Packr({ useRecords: false, mapsAsObjects: true });

const KIND_SEGMENT_HEADER = 0;
const KIND_BATCH = 1;
const ENTRY_TYPES: readonly EntryType[] = ['normal', 'confChange'];

function unpack(payload: Buffer): unknown {
  try {
    return packr.unpack(payload) as unknown;
  } catch (error) {
    throw new PayloadFormatError(`undecodable msgpack: ${(error as Error).message}`);
  }
}

function fail(what: string): never {
  throw new PayloadFormatError(what);
}

function array(value: unknown, length: number, what: string): unknown[] {
  if (!Array.isArray(value) || value.length !== length) fail(`${what}: expected ${length}-tuple`);
  return value as unknown[];
}

function count(value: unknown, what: string, min = 0): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    fail(`${what}: expected an integer ≥ ${min}, got ${String(value)}`);
  }
  return value;
}

function nodeIds(value: unknown, what: string): NodeId[] {
  if (!Array.isArray(value) || !value.every((id) => typeof id === 'string' && id.length > 0)) {
    fail(`${what}: expected node ids`);
  }
  return value as NodeId[];
}

// ---- segment header ---------------------------------------------------------------------------

export interface SegmentHeader {
  /** Position of the segment in the log; consecutive segments have consecutive numbers. */
  readonly seq: number;
  /** Index the first entry appended to this segment was expected to have (lastIndex + 1). */
  readonly firstIndex: number;
  /** The commit index when the segment was started (so deleting older segments loses nothing). */
  readonly commit: number;
}

export function encodeSegmentHeader(header: SegmentHeader): Buffer {
  return packr.pack([KIND_SEGMENT_HEADER, header.seq, header.firstIndex, header.commit]);
}

export function decodeSegmentHeader(payload: Buffer): SegmentHeader {
  const [kind, seq, firstIndex, commit] = array(unpack(payload), 4, 'segment header');
  if (kind !== KIND_SEGMENT_HEADER) fail(`segment header: kind ${String(kind)}`);
  return {
    seq: count(seq, 'segment seq', 1),
    firstIndex: count(firstIndex, 'segment firstIndex', 1),
    commit: count(commit, 'segment commit'),
  };
}

// ---- WAL batch --------------------------------------------------------------------------------

/** Everything one `save()` changes in the log, written as one record so it is atomic. */
export interface WalBatch {
  /** The commit index after this save. */
  readonly commit: number;
  /** Set when a snapshot from the leader replaced the whole log: the log now ends at `index`. */
  readonly reset: { readonly index: number; readonly term: number } | null;
  /**
   * Appended after the reset, contiguous; the first one's index may be at or below the current
   * last index, which truncates the log from there first (the conflicting suffix).
   */
  readonly entries: readonly Entry[];
}

export function encodeBatch(batch: WalBatch): Buffer {
  const first = batch.entries[0]?.index ?? 0;
  return packr.pack([
    KIND_BATCH,
    batch.commit,
    first,
    batch.entries.map((entry) => [entry.term, ENTRY_TYPES.indexOf(entry.type), entry.data]),
    batch.reset === null ? null : [batch.reset.index, batch.reset.term],
  ]);
}

/**
 * Entry data is copied out of `payload`: a view would keep the whole segment file buffer it was
 * read from alive for as long as any one of its entries is.
 */
export function decodeBatch(payload: Buffer): WalBatch {
  const [kind, commit, firstIndex, rawEntries, rawReset] = array(unpack(payload), 5, 'batch');
  if (kind !== KIND_BATCH) fail(`batch: kind ${String(kind)}`);
  if (!Array.isArray(rawEntries)) fail('batch: entries');
  const first = count(firstIndex, 'batch firstIndex', rawEntries.length > 0 ? 1 : 0);
  const entries = rawEntries.map((raw: unknown, i): Entry => {
    const [term, type, data] = array(raw, 3, 'entry');
    const entryType = ENTRY_TYPES[count(type, 'entry type')];
    if (entryType === undefined) fail(`entry type ${String(type)}`);
    if (!Buffer.isBuffer(data)) fail('entry data: expected bytes');
    return {
      term: count(term, 'entry term', 1),
      index: first + i,
      type: entryType,
      data: Buffer.from(data),
    };
  });
  let reset: WalBatch['reset'] = null;
  if (rawReset !== null) {
    const [index, term] = array(rawReset, 2, 'batch reset');
    reset = { index: count(index, 'reset index', 1), term: count(term, 'reset term', 1) };
  }
  return { commit: count(commit, 'batch commit'), reset, entries };
}

/** Whether `payload` is a well-formed batch (used when scanning past a damaged record). */
export function isBatch(payload: Buffer): boolean {
  try {
    decodeBatch(payload);
    return true;
  } catch {
    return false;
  }
}

// ---- hard state -------------------------------------------------------------------------------

export function encodeHardState(state: HardState): Buffer {
  return packr.pack([state.term, state.vote, state.commit]);
}

export function decodeHardState(payload: Buffer): HardState {
  const [term, vote, commit] = array(unpack(payload), 3, 'hard state');
  if (vote !== null && (typeof vote !== 'string' || vote.length === 0)) fail('hard state vote');
  return { term: count(term, 'hard state term'), vote, commit: count(commit, 'hard state commit') };
}

// ---- snapshot metadata ------------------------------------------------------------------------

export interface SnapshotHeader {
  readonly metadata: SnapshotMetadata;
  readonly dataLength: number;
  /** CRC-32 of the data, which follows the header frame unframed (it may be empty). */
  readonly dataCrc: number;
}

export function encodeSnapshotHeader(header: SnapshotHeader): Buffer {
  const { index, term, confState } = header.metadata;
  return packr.pack([
    index,
    term,
    confState.voters,
    confState.learners,
    header.dataLength,
    header.dataCrc,
  ]);
}

export function decodeSnapshotHeader(payload: Buffer): SnapshotHeader {
  const [index, term, voters, learners, dataLength, dataCrc] = array(
    unpack(payload),
    6,
    'snapshot header',
  );
  return {
    metadata: {
      index: count(index, 'snapshot index', 1),
      term: count(term, 'snapshot term', 1),
      confState: {
        voters: nodeIds(voters, 'snapshot voters'),
        learners: nodeIds(learners, 'snapshot learners'),
      },
    },
    dataLength: count(dataLength, 'snapshot data length'),
    dataCrc: count(dataCrc, 'snapshot data checksum'),
  };
}
