/**
 * Anti-entropy wire messages: plain objects of strings, small integers and Uint8Arrays, so they
 * travel as-is through the mesh's msgpack RPC (msgpackr encodes Uint8Array as `bin` and decodes it
 * as Buffer, a Uint8Array). Every message decoded from a peer goes through `parseMessage`, which
 * checks shape and explicit limits before anything else looks at it.
 *
 * Binary layouts (all integers big-endian):
 *   digest      16 B  a node digest (hash-tree.ts)
 *   node list   4 B × n, strictly ascending node indices of one level
 *   cursor      20 B  u32 tree key ‖ 16 B uuid — a position in tree order (entry-hash.ts)
 *   entries     columnar, n entries: ids 16 B × n; stamps 10 B × n (the 20 hex digits of the
 *               version's wall ms + logical counter, as bytes); nodeRefs 1 B × n indexing
 *               `nodeNames` (the versions' node-name suffixes, ≤ 256 distinct per message);
 *               deleted 1 B × n (0/1). ≈ 28 B per entry against ≈ 45 B for (uuid, version
 *               string, deleted) in msgpack.
 */
import type { Digest } from '../storage/object-store.js';
import { HASH_BYTES, UUID_BYTES, bytesToUuid, uuidToBytes, type TreeCursor } from './entry-hash.js';
import { MAX_TREE_HEIGHT } from './hash-tree.js';

/** Explicit bounds on every message; peers refuse anything larger. */
export const AE_LIMITS = {
  /** Roots compared per request (Weaviate's ROOT_PREFILTER_BATCH_SIZE bound; ~45 B each). */
  maxShardsPerRootsRequest: 4096,
  /** Digests per reply (64 KiB of digests). */
  maxDigestsPerMessage: 4096,
  /** Node indices per request. */
  maxNodesPerRequest: 4096,
  /** Entries per listing reply (= asyncConfig diffBatchSize's upper bound). */
  maxEntriesPerReply: 10_000,
  maxShardNameBytes: 256,
  maxNodeNamesPerReply: 256,
  maxIncarnationBytes: 64,
  maxErrorMessageBytes: 1024,
} as const;

export const CURSOR_BYTES = 4 + UUID_BYTES;
export const STAMP_BYTES = 10;

// ---------------------------------------------------------------------------------------------
// Messages

/** One shard's root as the initiator sees it. */
export interface RootSummary {
  readonly shard: string;
  readonly height: number;
  readonly root: Uint8Array;
}

/** Initiator → peer: compare many shards' roots in one round trip. */
export interface RootsRequest {
  readonly kind: 'roots';
  readonly shards: readonly RootSummary[];
}

export type RootState = 'equal' | 'differ' | 'not-ready' | 'unknown';

export interface RootStatus {
  readonly shard: string;
  readonly state: RootState;
  /** The peer's tree height and root; present exactly for `differ`. */
  readonly height?: number;
  readonly root?: Uint8Array;
}

/** Peer → initiator, statuses in request order. */
export interface RootsReply {
  readonly kind: 'roots-reply';
  /** The peer process's incarnation (changes on restart; resets tombstone confirmations). */
  readonly incarnation: string;
  readonly statuses: readonly RootStatus[];
}

/** Digests of the 2^depth descendants, `depth` levels below, of each parent at `level`. */
export interface DigestsRequest {
  readonly kind: 'digests';
  readonly shard: string;
  readonly level: number;
  readonly depth: number;
  /** Node list (4 B each). */
  readonly parents: Uint8Array;
}

/** 16 B per descendant: parents in request order, each parent's descendants left to right. */
export interface DigestsReply {
  readonly kind: 'digests-reply';
  readonly digests: Uint8Array;
}

/** Entries (tombstones included) of the given nodes of `level`, in tree order, after `after`. */
export interface EntriesRequest {
  readonly kind: 'entries';
  readonly shard: string;
  readonly level: number;
  readonly nodes: Uint8Array;
  /** Cursor (20 B), exclusive; null = from the start of the first node. */
  readonly after: Uint8Array | null;
  readonly limit: number;
}

export interface PackedEntries {
  readonly ids: Uint8Array;
  readonly stamps: Uint8Array;
  readonly nodeNames: readonly string[];
  readonly nodeRefs: Uint8Array;
  readonly deleted: Uint8Array;
}

export interface EntriesReply {
  readonly kind: 'entries-reply';
  readonly entries: PackedEntries;
  /**
   * Every entry of the requested nodes with `after` < cursor ≤ `through` is in `entries`; null =
   * everything to the end of the last node is. A full page (limit entries) ends at its last
   * entry; a responder may stop earlier (bounded work) but never later.
   */
  readonly through: Uint8Array | null;
}

export type ErrorCode = 'not-ready' | 'unknown-shard' | 'bad-request';

export interface ErrorReply {
  readonly kind: 'error';
  readonly code: ErrorCode;
  readonly message: string;
}

export type PeerRequest = RootsRequest | DigestsRequest | EntriesRequest;
export type PeerReply = RootsReply | DigestsReply | EntriesReply | ErrorReply;
export type AntiEntropyMessage = PeerRequest | PeerReply;

/** A message broke the format or a limit. */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
}

// ---------------------------------------------------------------------------------------------
// Node lists and cursors

export function encodeNodeList(nodes: readonly number[]): Uint8Array {
  const out = new Uint8Array(4 * nodes.length);
  const view = new DataView(out.buffer);
  nodes.forEach((node, i) => view.setUint32(4 * i, node));
  return out;
}

/** Strictly ascending indices of `level`, at most `max` of them. */
export function decodeNodeList(bytes: Uint8Array, level: number, max: number): number[] {
  if (bytes.length % 4 !== 0) throw new ProtocolError('node list length not a multiple of 4');
  const count = bytes.length / 4;
  if (count === 0) throw new ProtocolError('empty node list');
  if (count > max) throw new ProtocolError(`node list of ${count} exceeds ${max}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const nodes: number[] = new Array<number>(count);
  const size = 2 ** level;
  let previous = -1;
  for (let i = 0; i < count; i++) {
    const node = view.getUint32(4 * i);
    if (node <= previous || node >= size) {
      throw new ProtocolError(`node list not strictly ascending within level ${level}`);
    }
    nodes[i] = node;
    previous = node;
  }
  return nodes;
}

export function encodeCursor(cursor: TreeCursor): Uint8Array {
  const out = new Uint8Array(CURSOR_BYTES);
  new DataView(out.buffer).setUint32(0, cursor.key >>> 0);
  uuidToBytes(cursor.id, out, 4);
  return out;
}

export function decodeCursor(bytes: Uint8Array): TreeCursor {
  if (bytes.length !== CURSOR_BYTES) throw new ProtocolError(`cursor is not ${CURSOR_BYTES} bytes`);
  const key = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0);
  return { key, id: bytesToUuid(bytes, 4) };
}

// ---------------------------------------------------------------------------------------------
// Entries

const NODE_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const VERSION_PREFIX_HEX = 2 * STAMP_BYTES;

function hexNibble(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  if (code >= 0x61 && code <= 0x66) return code - 0x57;
  throw new RangeError('version prefix is not lowercase hex');
}

const HEX = '0123456789abcdef';

/** Packs digests (any order; the listing order is the caller's) into the columnar form. */
export function packEntries(entries: readonly Digest[]): PackedEntries {
  const n = entries.length;
  if (n > AE_LIMITS.maxEntriesPerReply) {
    throw new RangeError(`${n} entries exceed ${AE_LIMITS.maxEntriesPerReply} per message`);
  }
  const ids = new Uint8Array(UUID_BYTES * n);
  const stamps = new Uint8Array(STAMP_BYTES * n);
  const nodeRefs = new Uint8Array(n);
  const deleted = new Uint8Array(n);
  const names = new Map<string, number>();
  entries.forEach((entry, i) => {
    uuidToBytes(entry.id, ids, UUID_BYTES * i);
    const v = entry.version;
    for (let b = 0; b < STAMP_BYTES; b++) {
      stamps[STAMP_BYTES * i + b] =
        (hexNibble(v.charCodeAt(2 * b)) << 4) | hexNibble(v.charCodeAt(2 * b + 1));
    }
    const node = v.slice(VERSION_PREFIX_HEX);
    let ref = names.get(node);
    if (ref === undefined) {
      ref = names.size;
      if (ref >= AE_LIMITS.maxNodeNamesPerReply) {
        throw new RangeError(`more than ${AE_LIMITS.maxNodeNamesPerReply} node names in one page`);
      }
      names.set(node, ref);
    }
    nodeRefs[i] = ref;
    deleted[i] = entry.deleted ? 1 : 0;
  });
  return { ids, stamps, nodeNames: [...names.keys()], nodeRefs, deleted };
}

export function packedCount(packed: PackedEntries): number {
  return packed.deleted.length;
}

/** Unpacks and validates (lengths, node names, flags); ids come back canonical lowercase. */
export function unpackEntries(packed: PackedEntries): Digest[] {
  const n = packed.deleted.length;
  if (n > AE_LIMITS.maxEntriesPerReply) throw new ProtocolError(`${n} entries exceed the limit`);
  if (
    packed.ids.length !== UUID_BYTES * n ||
    packed.stamps.length !== STAMP_BYTES * n ||
    packed.nodeRefs.length !== n
  ) {
    throw new ProtocolError('entry columns have different lengths');
  }
  if (packed.nodeNames.length > AE_LIMITS.maxNodeNamesPerReply) {
    throw new ProtocolError('too many node names');
  }
  for (const name of packed.nodeNames) {
    if (typeof name !== 'string' || !NODE_NAME.test(name)) {
      throw new ProtocolError(`invalid node name in entries: ${JSON.stringify(name)}`);
    }
  }
  const out: Digest[] = new Array<Digest>(n);
  for (let i = 0; i < n; i++) {
    const flag = packed.deleted[i]!;
    if (flag > 1) throw new ProtocolError('deleted flag not 0/1');
    const node = packed.nodeNames[packed.nodeRefs[i]!];
    if (node === undefined) throw new ProtocolError('node reference out of range');
    let prefix = '';
    for (let b = 0; b < STAMP_BYTES; b++) {
      const byte = packed.stamps[STAMP_BYTES * i + b]!;
      prefix += HEX[byte >>> 4]! + HEX[byte & 15]!;
    }
    out[i] = {
      id: bytesToUuid(packed.ids, UUID_BYTES * i),
      version: prefix + node,
      deleted: flag === 1,
    };
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Validation of decoded messages

function isBytes(x: unknown): x is Uint8Array {
  return x instanceof Uint8Array;
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x) && !isBytes(x);
}

function smallInt(x: unknown, min: number, max: number, what: string): number {
  if (typeof x !== 'number' || !Number.isInteger(x) || x < min || x > max) {
    throw new ProtocolError(`${what} must be an integer in ${min}..${max}`);
  }
  return x;
}

function shardName(x: unknown): string {
  if (
    typeof x !== 'string' ||
    x.length === 0 ||
    Buffer.byteLength(x) > AE_LIMITS.maxShardNameBytes
  ) {
    throw new ProtocolError('shard must be a non-empty string of at most 256 bytes');
  }
  return x;
}

function digestBytes(x: unknown, what: string): Uint8Array {
  if (!isBytes(x) || x.length !== HASH_BYTES) throw new ProtocolError(`${what} must be 16 bytes`);
  return x;
}

/**
 * Checks a decoded message's shape and limits; returns it typed. Deep checks that need context
 * (node lists against the level, entries' order) happen where they are used.
 */
export function parseMessage(x: unknown): AntiEntropyMessage {
  if (!isObject(x)) throw new ProtocolError('message is not a map');
  switch (x.kind) {
    case 'roots': {
      if (!Array.isArray(x.shards) || x.shards.length > AE_LIMITS.maxShardsPerRootsRequest) {
        throw new ProtocolError(
          `roots request must list ≤ ${AE_LIMITS.maxShardsPerRootsRequest} shards`,
        );
      }
      const shards = x.shards.map((s: unknown): RootSummary => {
        if (!isObject(s)) throw new ProtocolError('root summary is not a map');
        return {
          shard: shardName(s.shard),
          height: smallInt(s.height, 0, MAX_TREE_HEIGHT, 'height'),
          root: digestBytes(s.root, 'root'),
        };
      });
      return { kind: 'roots', shards };
    }
    case 'roots-reply': {
      if (
        typeof x.incarnation !== 'string' ||
        x.incarnation.length > AE_LIMITS.maxIncarnationBytes
      ) {
        throw new ProtocolError('incarnation must be a short string');
      }
      if (!Array.isArray(x.statuses) || x.statuses.length > AE_LIMITS.maxShardsPerRootsRequest) {
        throw new ProtocolError('too many root statuses');
      }
      const statuses = x.statuses.map((s: unknown): RootStatus => {
        if (!isObject(s)) throw new ProtocolError('root status is not a map');
        const state = s.state;
        if (
          state !== 'equal' &&
          state !== 'differ' &&
          state !== 'not-ready' &&
          state !== 'unknown'
        ) {
          throw new ProtocolError('unknown root state');
        }
        if (state === 'differ') {
          return {
            shard: shardName(s.shard),
            state,
            height: smallInt(s.height, 0, MAX_TREE_HEIGHT, 'height'),
            root: digestBytes(s.root, 'root'),
          };
        }
        return { shard: shardName(s.shard), state };
      });
      return { kind: 'roots-reply', incarnation: x.incarnation, statuses };
    }
    case 'digests': {
      const level = smallInt(x.level, 0, MAX_TREE_HEIGHT - 1, 'level');
      const depth = smallInt(x.depth, 1, MAX_TREE_HEIGHT - level, 'depth');
      if (!isBytes(x.parents)) throw new ProtocolError('parents must be bytes');
      const parents = x.parents.length / 4;
      if (parents * 2 ** depth > AE_LIMITS.maxDigestsPerMessage) {
        throw new ProtocolError(
          `digests request exceeds ${AE_LIMITS.maxDigestsPerMessage} digests`,
        );
      }
      return { kind: 'digests', shard: shardName(x.shard), level, depth, parents: x.parents };
    }
    case 'digests-reply': {
      if (
        !isBytes(x.digests) ||
        x.digests.length % HASH_BYTES !== 0 ||
        x.digests.length > AE_LIMITS.maxDigestsPerMessage * HASH_BYTES
      ) {
        throw new ProtocolError('digests must be a multiple of 16 bytes within the limit');
      }
      return { kind: 'digests-reply', digests: x.digests };
    }
    case 'entries': {
      if (!isBytes(x.nodes)) throw new ProtocolError('nodes must be bytes');
      if (x.after !== null && (!isBytes(x.after) || x.after.length !== CURSOR_BYTES)) {
        throw new ProtocolError('after must be null or a 20-byte cursor');
      }
      return {
        kind: 'entries',
        shard: shardName(x.shard),
        level: smallInt(x.level, 0, MAX_TREE_HEIGHT, 'level'),
        nodes: x.nodes,
        after: x.after,
        limit: smallInt(x.limit, 1, AE_LIMITS.maxEntriesPerReply, 'limit'),
      };
    }
    case 'entries-reply': {
      const e = x.entries;
      if (
        !isObject(e) ||
        !isBytes(e.ids) ||
        !isBytes(e.stamps) ||
        !isBytes(e.nodeRefs) ||
        !isBytes(e.deleted) ||
        !Array.isArray(e.nodeNames)
      ) {
        throw new ProtocolError('entries are malformed');
      }
      if (x.through !== null && (!isBytes(x.through) || x.through.length !== CURSOR_BYTES)) {
        throw new ProtocolError('through must be null or a 20-byte cursor');
      }
      const entries: PackedEntries = {
        ids: e.ids,
        stamps: e.stamps,
        nodeNames: e.nodeNames as string[],
        nodeRefs: e.nodeRefs,
        deleted: e.deleted,
      };
      return { kind: 'entries-reply', entries, through: x.through };
    }
    case 'error': {
      const code = x.code;
      if (code !== 'not-ready' && code !== 'unknown-shard' && code !== 'bad-request') {
        throw new ProtocolError('unknown error code');
      }
      if (typeof x.message !== 'string') throw new ProtocolError('error message must be a string');
      return { kind: 'error', code, message: x.message.slice(0, AE_LIMITS.maxErrorMessageBytes) };
    }
    default:
      throw new ProtocolError(`unknown message kind ${JSON.stringify(x.kind)}`);
  }
}
