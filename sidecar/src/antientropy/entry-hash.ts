/**
 * What the hash tree hashes: an object's position in the tree (its *tree key*) and the 128-bit
 * hash of its state (uuid, version, deleted).
 *
 * Hash function: MurmurHash3 x86_128 (Appleby's reference, checked against SMHasher's
 * verification value 0xB3ECE62A in the unit tests), in TypeScript on Math.imul: measured on Node
 * 24 for a 47-byte entry it costs ~110 ns, against ~1,600 ns for the x64_128 port in
 * metadata/hashing.ts (64-bit multiplies on 16-bit limbs, allocates its result) and ~1,360 ns
 * for `crypto.hash('md5', …)` (per-call native overhead dominates short inputs). The tree rehashes
 * every write and the whole shard at start, so this is the one place where the hash's speed shows.
 * It is not collision resistant; nothing here needs that (see README "Digest strength").
 *
 * Tree key: the first 32 bits of x86_128 over the 16 raw UUID bytes with seed TREE_KEY_SEED. The
 * leaf at height H is the top H bits. Hashing (rather than Weaviate's raw UUID prefix) spreads
 * time-ordered UUIDs (v1, v6, v7), and the seed keeps it independent of the sharding token
 * (murmur3 x64 over the same bytes): objects of one shard share token ranges, so a tree keyed by
 * the token would use only 1/shards of its leaves. 32 bits refine every height ≤ 20, so ordering
 * by (tree key, id) — "tree order" — lists any height's leaves as contiguous runs.
 *
 * Entry hash: x86_128 with seed 0 over uuid(16) ‖ deleted(1) ‖ version (ASCII). Every replica
 * computes the same bytes (all inputs are canonical), so equal states hash equally everywhere.
 *
 * No allocation on the hot path: results are written into caller-provided Uint32Arrays.
 */
import type { Digest } from '../storage/object-store.js';

export const TREE_KEY_SEED = 0x71734c46; // "qsLF"
export const ENTRY_HASH_SEED = 0;
/** 32-bit words per hash / digest. */
export const HASH_WORDS = 4;
export const HASH_BYTES = 16;
export const UUID_BYTES = 16;
/** Encoded versions are 20 hex digits + a node name of at most 63 bytes. */
export const MAX_VERSION_BYTES = 83;

const C1 = 0x239b961b;
const C2 = 0xab0e9789;
const C3 = 0x38b34ae5;
const C4 = 0xa1e38b93;

function rotl32(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}

/**
 * MurmurHash3_x86_128 of `bytes[0, length)` with `seed`; writes h1..h4 (unsigned) to
 * `out[offset..offset+4)`. Inputs below 2^32 bytes.
 */
export function murmur3x86_128(
  bytes: Uint8Array,
  length: number,
  seed: number,
  out: Uint32Array,
  offset: number,
): void {
  let h1 = seed | 0;
  let h2 = seed | 0;
  let h3 = seed | 0;
  let h4 = seed | 0;
  const blockEnd = length & ~15;
  let i = 0;
  for (; i < blockEnd; i += 16) {
    let k1 = bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
    let k2 = bytes[i + 4]! | (bytes[i + 5]! << 8) | (bytes[i + 6]! << 16) | (bytes[i + 7]! << 24);
    let k3 = bytes[i + 8]! | (bytes[i + 9]! << 8) | (bytes[i + 10]! << 16) | (bytes[i + 11]! << 24);
    let k4 =
      bytes[i + 12]! | (bytes[i + 13]! << 8) | (bytes[i + 14]! << 16) | (bytes[i + 15]! << 24);
    k1 = Math.imul(rotl32(Math.imul(k1, C1), 15), C2);
    h1 ^= k1;
    h1 = rotl32(h1, 19);
    h1 = (h1 + h2) | 0;
    h1 = (Math.imul(h1, 5) + 0x561ccd1b) | 0;
    k2 = Math.imul(rotl32(Math.imul(k2, C2), 16), C3);
    h2 ^= k2;
    h2 = rotl32(h2, 17);
    h2 = (h2 + h3) | 0;
    h2 = (Math.imul(h2, 5) + 0x0bcaa747) | 0;
    k3 = Math.imul(rotl32(Math.imul(k3, C3), 17), C4);
    h3 ^= k3;
    h3 = rotl32(h3, 15);
    h3 = (h3 + h4) | 0;
    h3 = (Math.imul(h3, 5) + 0x96cd1c35) | 0;
    k4 = Math.imul(rotl32(Math.imul(k4, C4), 18), C1);
    h4 ^= k4;
    h4 = rotl32(h4, 13);
    h4 = (h4 + h1) | 0;
    h4 = (Math.imul(h4, 5) + 0x32ac3b17) | 0;
  }
  // Tail: the reference's fall-through switch, unrolled per 4-byte lane.
  const rest = length & 15;
  if (rest > 12) {
    let k4 = 0;
    for (let j = rest - 1; j >= 12; j--) k4 = (k4 << 8) | bytes[i + j]!;
    h4 ^= Math.imul(rotl32(Math.imul(k4, C4), 18), C1);
  }
  if (rest > 8) {
    let k3 = 0;
    for (let j = Math.min(rest, 12) - 1; j >= 8; j--) k3 = (k3 << 8) | bytes[i + j]!;
    h3 ^= Math.imul(rotl32(Math.imul(k3, C3), 17), C4);
  }
  if (rest > 4) {
    let k2 = 0;
    for (let j = Math.min(rest, 8) - 1; j >= 4; j--) k2 = (k2 << 8) | bytes[i + j]!;
    h2 ^= Math.imul(rotl32(Math.imul(k2, C2), 16), C3);
  }
  if (rest > 0) {
    let k1 = 0;
    for (let j = Math.min(rest, 4) - 1; j >= 0; j--) k1 = (k1 << 8) | bytes[i + j]!;
    h1 ^= Math.imul(rotl32(Math.imul(k1, C1), 15), C2);
  }
  h1 ^= length;
  h2 ^= length;
  h3 ^= length;
  h4 ^= length;
  h1 = (h1 + h2) | 0;
  h1 = (h1 + h3) | 0;
  h1 = (h1 + h4) | 0;
  h2 = (h2 + h1) | 0;
  h3 = (h3 + h1) | 0;
  h4 = (h4 + h1) | 0;
  h1 = fmix32(h1);
  h2 = fmix32(h2);
  h3 = fmix32(h3);
  h4 = fmix32(h4);
  h1 = (h1 + h2) | 0;
  h1 = (h1 + h3) | 0;
  h1 = (h1 + h4) | 0;
  h2 = (h2 + h1) | 0;
  h3 = (h3 + h1) | 0;
  h4 = (h4 + h1) | 0;
  out[offset] = h1;
  out[offset + 1] = h2;
  out[offset + 2] = h3;
  out[offset + 3] = h4;
}

// ---------------------------------------------------------------------------------------------
// UUIDs

/** Hex digit values by ASCII code (either case), −1 for anything else. */
const HEX_VALUE = new Int8Array(128).fill(-1);
for (let d = 0; d < 10; d++) HEX_VALUE[0x30 + d] = d;
for (let d = 0; d < 6; d++) {
  HEX_VALUE[0x61 + d] = 10 + d;
  HEX_VALUE[0x41 + d] = 10 + d;
}
/** Where each byte's two hex digits start in 8-4-4-4-12. */
const BYTE_POSITIONS = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];

/**
 * Writes the 16 bytes of `uuid` (8-4-4-4-12 hex, either case) to `out[offset..]`; throws
 * RangeError for anything else. Replicas store ids lowercase, so equal ids give equal bytes.
 * Table-driven without branches per digit: this runs for every write and every scanned object
 * (~80 ns, against ~330 ns for a per-character branchy parse).
 */
export function uuidToBytes(uuid: string, out: Uint8Array, offset = 0): void {
  if (
    uuid.length !== 36 ||
    uuid.charCodeAt(8) !== 0x2d ||
    uuid.charCodeAt(13) !== 0x2d ||
    uuid.charCodeAt(18) !== 0x2d ||
    uuid.charCodeAt(23) !== 0x2d
  ) {
    throw new RangeError(`not a UUID: ${JSON.stringify(uuid).slice(0, 60)}`);
  }
  let bad = 0;
  for (let k = 0; k < 16; k++) {
    const p = BYTE_POSITIONS[k]!;
    const c1 = uuid.charCodeAt(p);
    const c2 = uuid.charCodeAt(p + 1);
    const hi = HEX_VALUE[c1 & 0x7f]!;
    const lo = HEX_VALUE[c2 & 0x7f]!;
    bad |= hi | lo | ((c1 | c2) & ~0x7f);
    out[offset + k] = (hi << 4) | (lo & 0xf);
  }
  // Valid digits are 0..15 and valid codes < 0x80, so any higher bit means a bad character.
  if ((bad & ~0xf) !== 0) {
    throw new RangeError(`not a UUID: ${JSON.stringify(uuid).slice(0, 60)}`);
  }
}

const HEX_CODES = [...'0123456789abcdef'].map((c) => c.charCodeAt(0));
const uuidCodes = new Array<number>(36);

/**
 * The canonical lowercase 8-4-4-4-12 form of 16 bytes at `bytes[offset..]`. Built with one
 * String.fromCharCode, so the result is a flat string (36 concatenations make a rope that the
 * first charCodeAt must flatten).
 */
export function bytesToUuid(bytes: Uint8Array, offset = 0): string {
  let at = 0;
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) uuidCodes[at++] = 0x2d;
    const b = bytes[offset + i]!;
    uuidCodes[at++] = HEX_CODES[b >>> 4]!;
    uuidCodes[at++] = HEX_CODES[b & 15]!;
  }
  return String.fromCharCode.apply(null, uuidCodes);
}

// ---------------------------------------------------------------------------------------------
// Tree keys and entry hashes

/** Scratch for one hash input: uuid + flag + version (≤ 100 bytes). Never escapes this module. */
const scratch = new Uint8Array(UUID_BYTES + 1 + MAX_VERSION_BYTES);
const words = new Uint32Array(HASH_WORDS);

/** The 32-bit tree key of an object id (unsigned). */
export function treeKeyOf(id: string): number {
  uuidToBytes(id, scratch, 0);
  murmur3x86_128(scratch, UUID_BYTES, TREE_KEY_SEED, words, 0);
  return words[0]! >>> 0;
}

/** The tree key of the UUID whose 16 bytes are at `bytes[offset..]`. */
export function treeKeyOfBytes(bytes: Uint8Array, offset: number): number {
  scratch.set(bytes.subarray(offset, offset + UUID_BYTES), 0);
  murmur3x86_128(scratch, UUID_BYTES, TREE_KEY_SEED, words, 0);
  return words[0]! >>> 0;
}

/** Index of the node holding `treeKey` at `level` (0 = root): the key's top `level` bits. */
export function nodeAtLevel(treeKey: number, level: number): number {
  return level === 0 ? 0 : treeKey >>> (32 - level);
}

/**
 * The 128-bit hash of an entry's state into `out[offset..offset+4)`. The uuid bytes must
 * already be at `scratch[0..16)` (callers that hash twice for one id parse it once).
 */
function hashParsedInto(deleted: boolean, version: string, out: Uint32Array, offset: number): void {
  const length = version.length;
  if (length === 0 || length > MAX_VERSION_BYTES) {
    throw new RangeError(`version length ${length} outside 1..${MAX_VERSION_BYTES}`);
  }
  scratch[UUID_BYTES] = deleted ? 1 : 0;
  for (let i = 0; i < length; i++) {
    const code = version.charCodeAt(i);
    if (code > 0x7f) throw new RangeError(`version is not ASCII: ${JSON.stringify(version)}`);
    scratch[UUID_BYTES + 1 + i] = code;
  }
  murmur3x86_128(scratch, UUID_BYTES + 1 + length, ENTRY_HASH_SEED, out, offset);
}

/** The 128-bit entry hash of `entry` into `out[offset..offset+4)`. */
export function entryHashInto(entry: Digest, out: Uint32Array, offset = 0): void {
  uuidToBytes(entry.id, scratch, 0);
  hashParsedInto(entry.deleted, entry.version, out, offset);
}

/** Convenience for tests and tools: a fresh array. */
export function entryHash(entry: Digest): Uint32Array {
  const out = new Uint32Array(HASH_WORDS);
  entryHashInto(entry, out, 0);
  return out;
}

/**
 * Tree key of `id` into the return value and, when given, the hashes of `a` and `b` (entries of
 * that id, or null) into `out[0..4)` and `out[4..8)`: one UUID parse for an update's three hashes.
 */
export function hashUpdate(
  id: string,
  a: Digest | null,
  b: Digest | null,
  out: Uint32Array,
): number {
  uuidToBytes(id, scratch, 0);
  murmur3x86_128(scratch, UUID_BYTES, TREE_KEY_SEED, words, 0);
  const key = words[0]! >>> 0;
  if (a !== null) hashParsedInto(a.deleted, a.version, out, 0);
  if (b !== null) hashParsedInto(b.deleted, b.version, out, HASH_WORDS);
  return key;
}

// ---------------------------------------------------------------------------------------------
// Tree order: (tree key, id). Listings of leaves are exchanged in this order.

export interface TreeCursor {
  readonly key: number;
  readonly id: string;
}

export function compareTreeOrder(a: TreeCursor, b: TreeCursor): number {
  if (a.key !== b.key) return a.key < b.key ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
