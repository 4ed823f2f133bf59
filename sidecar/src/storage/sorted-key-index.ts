/**
 * An ordered set of string keys with cursor iteration: a list of sorted blocks.
 *
 * Keys live in blocks of at most `maxBlockSize`, each block sorted and all blocks in order, with
 * each block's last key kept in `lastKeys` for a binary search. An insert or delete moves at most
 * one block's worth of keys (plus, on a split or merge, one slot of the block list), so with
 * ~1M keys and blocks of 512 that is ~2k blocks and a few hundred element moves per change,
 * instead of a million for one flat sorted array. A page read is a binary search plus a copy.
 *
 * Order is JavaScript string order (UTF-16 code units), which equals byte order for the ASCII
 * keys the stores put here (validated object ids).
 */

export const DEFAULT_MAX_BLOCK_SIZE = 512;

export class SortedKeyIndex {
  private readonly blocks: string[][] = [];
  /** `lastKeys[i]` is the greatest key of `blocks[i]`; same length as `blocks`. */
  private readonly lastKeys: string[] = [];
  private count = 0;
  private readonly maxBlockSize: number;
  /** Blocks smaller than this are merged into a neighbour so the block list stays short. */
  private readonly minBlockSize: number;

  constructor(maxBlockSize = DEFAULT_MAX_BLOCK_SIZE) {
    if (!Number.isInteger(maxBlockSize) || maxBlockSize < 4) {
      throw new RangeError(`maxBlockSize must be an integer >= 4 (got ${maxBlockSize})`);
    }
    this.maxBlockSize = maxBlockSize;
    this.minBlockSize = Math.floor(maxBlockSize / 4);
  }

  get size(): number {
    return this.count;
  }

  has(key: string): boolean {
    const b = this.blockFor(key);
    if (b === this.blocks.length) return false;
    const block = this.block(b);
    const i = lowerBound(block, key);
    return block[i] === key;
  }

  /** Adds `key`; returns false if it was already present. */
  add(key: string): boolean {
    if (this.blocks.length === 0) {
      this.blocks.push([key]);
      this.lastKeys.push(key);
      this.count = 1;
      return true;
    }
    // A key beyond every block's last key goes at the end of the last block.
    const b = Math.min(this.blockFor(key), this.blocks.length - 1);
    const block = this.block(b);
    const i = lowerBound(block, key);
    if (block[i] === key) return false;
    block.splice(i, 0, key);
    if (i === block.length - 1) this.lastKeys[b] = key;
    this.count++;
    if (block.length > this.maxBlockSize) this.split(b);
    return true;
  }

  /** Removes `key`; returns false if it was absent. */
  delete(key: string): boolean {
    const b = this.blockFor(key);
    if (b === this.blocks.length) return false;
    const block = this.block(b);
    const i = lowerBound(block, key);
    if (block[i] !== key) return false;
    block.splice(i, 1);
    this.count--;
    if (block.length === 0) {
      this.blocks.splice(b, 1);
      this.lastKeys.splice(b, 1);
      return true;
    }
    if (i === block.length) this.lastKeys[b] = block[block.length - 1]!;
    if (block.length < this.minBlockSize) this.mergeWithNeighbour(b);
    return true;
  }

  /** Up to `limit` keys strictly greater than `after` (from the start if undefined), ascending. */
  keysAfter(after: string | undefined, limit: number): string[] {
    if (!Number.isInteger(limit) || limit < 0) {
      throw new RangeError(`limit must be a non-negative integer (got ${limit})`);
    }
    const out: string[] = [];
    let b = 0;
    let i = 0;
    if (after !== undefined) {
      b = upperBound(this.lastKeys, after); // first block holding a key > after
      if (b < this.blocks.length) i = upperBound(this.block(b), after);
    }
    for (; b < this.blocks.length && out.length < limit; b++, i = 0) {
      const block = this.block(b);
      const take = Math.min(block.length - i, limit - out.length);
      for (let k = 0; k < take; k++) out.push(block[i + k]!);
    }
    return out;
  }

  *[Symbol.iterator](): IterableIterator<string> {
    for (const block of this.blocks) yield* block;
  }

  /** Throws if the structure is inconsistent; for tests and debugging (O(n)). */
  checkInvariants(): void {
    if (this.blocks.length !== this.lastKeys.length) {
      throw new Error('sorted-key-index: blocks and lastKeys differ in length');
    }
    let total = 0;
    let previous: string | undefined;
    this.blocks.forEach((block, b) => {
      if (block.length === 0) throw new Error(`sorted-key-index: block ${b} is empty`);
      // Splits make halves of >= max/2 and small blocks merge, so only a lone block is small.
      if (this.blocks.length > 1 && block.length < this.minBlockSize) {
        throw new Error(
          `sorted-key-index: block ${b} holds ${block.length} < ${this.minBlockSize}`,
        );
      }
      if (block.length > this.maxBlockSize) {
        throw new Error(
          `sorted-key-index: block ${b} holds ${block.length} > ${this.maxBlockSize}`,
        );
      }
      for (const key of block) {
        if (previous !== undefined && !(previous < key)) {
          throw new Error(
            `sorted-key-index: keys out of order at block ${b}: ${previous} !< ${key}`,
          );
        }
        previous = key;
      }
      if (this.lastKeys[b] !== block[block.length - 1]) {
        throw new Error(`sorted-key-index: lastKeys[${b}] is stale`);
      }
      total += block.length;
    });
    if (total !== this.count) {
      throw new Error(`sorted-key-index: size ${this.count} but ${total} keys stored`);
    }
  }

  /** Index of the first block whose last key is >= key (blocks.length if none). */
  private blockFor(key: string): number {
    return lowerBound(this.lastKeys, key);
  }

  private block(b: number): string[] {
    const block = this.blocks[b];
    if (block === undefined) throw new Error(`sorted-key-index: no block ${b}`);
    return block;
  }

  private split(b: number): void {
    const block = this.block(b);
    const upper = block.splice(block.length >> 1);
    this.blocks.splice(b + 1, 0, upper);
    this.lastKeys.splice(b + 1, 0, upper[upper.length - 1]!);
    this.lastKeys[b] = block[block.length - 1]!;
  }

  /** Merges block b into a neighbour, splitting again if the result would be oversized. */
  private mergeWithNeighbour(b: number): void {
    if (this.blocks.length < 2) return;
    const left = b > 0 ? b - 1 : b; // merge the pair (left, left + 1)
    const merged = this.block(left).concat(this.block(left + 1));
    this.blocks.splice(left, 2, merged);
    this.lastKeys.splice(left, 2, merged[merged.length - 1]!);
    if (merged.length > this.maxBlockSize) this.split(left);
  }
}

/** First index whose element is >= key. */
function lowerBound(sorted: readonly string[], key: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index whose element is > key. */
function upperBound(sorted: readonly string[], key: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! <= key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
