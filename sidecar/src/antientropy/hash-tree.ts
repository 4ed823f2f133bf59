/**
 * One shard replica's hash tree: a complete binary tree of height H (0..20) over the 32-bit tree
 * keys of its objects, in one typed array.
 *
 * Node (level l, index n) covers the objects whose tree key's top l bits are n; the root (0, 0)
 * covers everything, the 2^H leaves (H, n) a 2^-H slice each. A node's digest is the XOR of the
 * 128-bit entry hashes (entry-hash.ts) of every object it covers — live objects AND tombstones —
 * so a leaf is the XOR of its entries and an inner node the XOR of its two children.
 *
 * Deliberate deviation from Weaviate (where inner nodes are murmur3(left ‖ right), recomputed
 * lazily from dirty bits): XOR-aggregated inner nodes
 *   - are exact at all times: a write XORs its old and new entry hash out of / into the H+1 nodes
 *     on its path (O(H) word XORs, ~20 ns at H=16), no dirty set, no recompute pass before a
 *     sync, no "stale root" window;
 *   - do not depend on the tree's height: node (l, n) has the same digest in a tree of height 10
 *     and one of height 16 holding the same objects. Replicas configured with different heights
 *     (ASYNC_REPLICATION_HASHTREE_HEIGHT is per node; rolling changes) still compare, at the
 *     smaller height; with hashed inner nodes they could never agree.
 *   - cost nothing in strength: a hashed parent only repeats what its children say, and a
 *     leaf is an XOR aggregate in both designs (see README "Digest strength").
 *
 * Memory: (2^(H+1) − 1) × 16 bytes in one Uint32Array (H=16: 2,097,136 B; H=10: 32,752 B;
 * H=20: 33,554,416 B) plus a few fields; nothing per object.
 *
 * Node layout: heap order, node (l, n) at index 2^l − 1 + n, 4 native-endian u32 words each.
 * Digests leave the tree only through `writeDigests`/`root` as 16 big-endian bytes, so the
 * wire form does not depend on the platform.
 *
 * Not thread-safe, not async: callers own the ordering (see tree-build.ts for how writes that
 * race a build are folded in exactly).
 */
import type { Digest } from '../storage/object-store.js';
import { HASH_BYTES, HASH_WORDS, hashUpdate, nodeAtLevel, treeKeyOf } from './entry-hash.js';

export const MIN_TREE_HEIGHT = 0;
export const MAX_TREE_HEIGHT = 20;

/** Bytes of the node array of a tree of `height`: (2^(H+1) − 1) × 16. */
export function treeMemoryBytes(height: number): number {
  assertHeight(height);
  return (2 ** (height + 1) - 1) * HASH_BYTES;
}

export function assertHeight(height: number): void {
  if (!Number.isInteger(height) || height < MIN_TREE_HEIGHT || height > MAX_TREE_HEIGHT) {
    throw new RangeError(
      `hash tree height must be an integer in ${MIN_TREE_HEIGHT}..${MAX_TREE_HEIGHT}, got ${height}`,
    );
  }
}

/** Two entries of one update: `prev` at [0, 4), `next` at [4, 8). */
const updateWords = new Uint32Array(2 * HASH_WORDS);

export class HashTree {
  readonly height: number;
  private readonly words: Uint32Array;
  /** Entries (live + tombstones) accounted for; a consistency check, not a digest input. */
  private entries = 0;
  /**
   * While true, updates touch leaves only and digests may not be read; `endBulk` derives the
   * inner levels in one pass (2^H XORs instead of (H+1) per entry: a 1M-object build is
   * dominated by hashing, not by walking paths).
   */
  private bulk = false;

  constructor(height: number) {
    assertHeight(height);
    this.height = height;
    this.words = new Uint32Array((2 ** (height + 1) - 1) * HASH_WORDS);
  }

  /** A tree holding exactly `entries` (ids must be distinct; not checked). */
  static fromEntries(height: number, entries: Iterable<Digest>): HashTree {
    const tree = new HashTree(height);
    tree.beginBulk();
    for (const entry of entries) tree.update(entry.id, null, entry);
    tree.endBulk();
    return tree;
  }

  get leafCount(): number {
    return 2 ** this.height;
  }

  get entryCount(): number {
    return this.entries;
  }

  /** Bytes held by the node array (the tree's whole footprint, bar a few fields). */
  get memoryBytes(): number {
    return this.words.byteLength;
  }

  get inBulk(): boolean {
    return this.bulk;
  }

  /**
   * Replaces `id`'s entry `prev` by `next` (either may be null: insert, purge). `prev` MUST be
   * exactly what the tree holds for `id` (the store's previous record): XOR cannot check it, and
   * a wrong `prev` corrupts two leaves until the next rebuild. Equal states are a no-op.
   */
  update(id: string, prev: Digest | null, next: Digest | null): void {
    if (prev !== null && prev.id !== id) throw new RangeError(`prev is for ${prev.id}, not ${id}`);
    if (next !== null && next.id !== id) throw new RangeError(`next is for ${next.id}, not ${id}`);
    if (prev === null && next === null) return;
    if (
      prev !== null &&
      next !== null &&
      prev.version === next.version &&
      prev.deleted === next.deleted
    ) {
      return;
    }
    const key = hashUpdate(id, prev, next, updateWords);
    if (prev !== null) {
      this.xorEntry(key, 0);
      this.entries--;
    }
    if (next !== null) {
      this.xorEntry(key, HASH_WORDS);
      this.entries++;
    }
  }

  /** XORs `updateWords[from..from+4)` into the leaf of `key` and (unless bulk) its ancestors. */
  private xorEntry(key: number, from: number): void {
    const w0 = updateWords[from]!;
    const w1 = updateWords[from + 1]!;
    const w2 = updateWords[from + 2]!;
    const w3 = updateWords[from + 3]!;
    const words = this.words;
    const top = this.bulk ? this.height : 0;
    for (let level = this.height; level >= top; level--) {
      const at = ((2 ** level - 1 + nodeAtLevel(key, level)) * HASH_WORDS) | 0;
      words[at] = words[at]! ^ w0;
      words[at + 1] = words[at + 1]! ^ w1;
      words[at + 2] = words[at + 2]! ^ w2;
      words[at + 3] = words[at + 3]! ^ w3;
    }
  }

  beginBulk(): void {
    if (this.bulk) throw new Error('hash tree already in bulk mode');
    this.bulk = true;
  }

  /** Leaves are final: derive every inner node from them, bottom-up. */
  endBulk(): void {
    if (!this.bulk) throw new Error('hash tree not in bulk mode');
    const words = this.words;
    for (let level = this.height - 1; level >= 0; level--) {
      const first = 2 ** level - 1;
      const count = 2 ** level;
      for (let n = 0; n < count; n++) {
        const at = (first + n) * HASH_WORDS;
        const left = (2 * (first + n) + 1) * HASH_WORDS;
        const right = left + HASH_WORDS;
        for (let w = 0; w < HASH_WORDS; w++) words[at + w] = words[left + w]! ^ words[right + w]!;
      }
    }
    this.bulk = false;
  }

  private assertReadable(level: number, first: number, count: number): void {
    if (this.bulk) throw new Error('hash tree is being built: digests are not final');
    if (!Number.isInteger(level) || level < 0 || level > this.height) {
      throw new RangeError(`level ${level} outside 0..${this.height}`);
    }
    if (
      !Number.isInteger(first) ||
      !Number.isInteger(count) ||
      first < 0 ||
      count < 0 ||
      first + count > 2 ** level
    ) {
      throw new RangeError(`nodes [${first}, ${first + count}) outside level ${level}`);
    }
  }

  /** Writes the digests of nodes [first, first+count) of `level`, 16 BE bytes each. */
  writeDigests(level: number, first: number, count: number, out: Uint8Array, offset: number): void {
    this.assertReadable(level, first, count);
    if (offset < 0 || offset + count * HASH_BYTES > out.length) {
      throw new RangeError('digest output buffer too small');
    }
    const words = this.words;
    let at = (2 ** level - 1 + first) * HASH_WORDS;
    let o = offset;
    for (let i = 0; i < count * HASH_WORDS; i++) {
      const w = words[at++]!;
      out[o++] = w >>> 24;
      out[o++] = (w >>> 16) & 0xff;
      out[o++] = (w >>> 8) & 0xff;
      out[o++] = w & 0xff;
    }
  }

  /** The digest of one node as 16 BE bytes. */
  digest(level: number, index: number): Uint8Array {
    const out = new Uint8Array(HASH_BYTES);
    this.writeDigests(level, index, 1, out, 0);
    return out;
  }

  root(): Uint8Array {
    return this.digest(0, 0);
  }

  /** Whether node (level, index) equals the 16 BE bytes at `bytes[offset..]`. */
  nodeEquals(level: number, index: number, bytes: Uint8Array, offset: number): boolean {
    this.assertReadable(level, index, 1);
    if (offset < 0 || offset + HASH_BYTES > bytes.length) throw new RangeError('digest truncated');
    const at = (2 ** level - 1 + index) * HASH_WORDS;
    for (let w = 0; w < HASH_WORDS; w++) {
      const o = offset + 4 * w;
      const theirs =
        ((bytes[o]! << 24) | (bytes[o + 1]! << 16) | (bytes[o + 2]! << 8) | bytes[o + 3]!) >>> 0;
      if (this.words[at + w]! !== theirs) return false;
    }
    return true;
  }

  /** Whether both trees hold identical node arrays (same height). For tests and tools. */
  sameAs(other: HashTree): boolean {
    if (other.height !== this.height) return false;
    const a = this.words;
    const b = other.words;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }

  /**
   * Checks the structural invariant: every inner node is the XOR of its children. O(2^H); for
   * tests and for a debug endpoint, never on the data path.
   */
  checkInvariant(): void {
    if (this.bulk) return;
    const words = this.words;
    for (let node = 0; node < 2 ** this.height - 1; node++) {
      for (let w = 0; w < HASH_WORDS; w++) {
        const children =
          words[(2 * node + 1) * HASH_WORDS + w]! ^ words[(2 * node + 2) * HASH_WORDS + w]!;
        if ((words[node * HASH_WORDS + w]! ^ children) !== 0) {
          throw new Error(`hash tree invariant broken at node ${node}`);
        }
      }
    }
  }

  /** The leaf (at this tree's height) that holds `id`. */
  leafOf(id: string): number {
    return nodeAtLevel(treeKeyOf(id), this.height);
  }
}
