/**
 * SortedKeyIndex against the obvious reference (a sorted array) under random inserts, deletes
 * and cursor walks. Seeded: the seed is logged; replay with INDEX_SEED=<seed>.
 */
import { SortedKeyIndex } from '../../src/storage/sorted-key-index.js';
import { prng, seedFrom } from '../support/random.js';

const seed = seedFrom('INDEX_SEED', 'sorted-key-index');

/** Keys shaped like object ids; a small key space makes duplicates and misses common. */
function key(n: number): string {
  return `${n.toString(16).padStart(8, '0')}-0000-4000-8000-000000000000`;
}

/** The reference: a plain sorted array with linear-time updates. */
class SortedArray {
  readonly keys: string[] = [];
  add(k: string): boolean {
    if (this.keys.includes(k)) return false;
    this.keys.push(k);
    this.keys.sort();
    return true;
  }
  delete(k: string): boolean {
    const i = this.keys.indexOf(k);
    if (i < 0) return false;
    this.keys.splice(i, 1);
    return true;
  }
  keysAfter(after: string | undefined, limit: number): string[] {
    return this.keys.filter((k) => after === undefined || k > after).slice(0, limit);
  }
}

function walk(index: SortedKeyIndex, pageSize: number): string[] {
  const out: string[] = [];
  let after: string | undefined;
  for (;;) {
    const page = index.keysAfter(after, pageSize);
    out.push(...page);
    if (page.length < pageSize) return out;
    after = page[page.length - 1];
  }
}

describe('SortedKeyIndex', () => {
  it.each([4, 8, 64])(
    'matches a sorted array under random operations (block size %i)',
    (blockSize) => {
      const random = prng(seed + blockSize);
      const int = (n: number) => Math.floor(random() * n);
      const index = new SortedKeyIndex(blockSize);
      const reference = new SortedArray();
      const space = 600;
      for (let step = 0; step < 6000; step++) {
        const context = `seed=${seed} blockSize=${blockSize} step=${step}`;
        const k = key(int(space));
        const roll = random();
        // Phases bias towards growth, then shrinkage, so blocks split and merge repeatedly.
        const growing = Math.floor(step / 1500) % 2 === 0;
        if (roll < (growing ? 0.6 : 0.3)) {
          expect([context, index.add(k)]).toEqual([context, reference.add(k)]);
        } else if (roll < 0.8) {
          expect([context, index.delete(k)]).toEqual([context, reference.delete(k)]);
        } else if (roll < 0.9) {
          expect([context, index.has(k)]).toEqual([context, reference.keys.includes(k)]);
        } else {
          // Cursors need not be stored keys: use any key of the space, or a key before all.
          const after = random() < 0.1 ? undefined : random() < 0.1 ? '' : key(int(space + 2));
          const limit = int(20);
          expect([context, index.keysAfter(after, limit)]).toEqual([
            context,
            reference.keysAfter(after, limit),
          ]);
        }
        expect(index.size).toBe(reference.keys.length);
        if (step % 100 === 0) index.checkInvariants();
      }
      index.checkInvariants();
      expect([...index]).toEqual(reference.keys);
      expect(walk(index, 7)).toEqual(reference.keys);
    },
  );

  it('empties completely and can be refilled', () => {
    const index = new SortedKeyIndex(4);
    const keys = Array.from({ length: 100 }, (_, i) => key(i));
    for (const k of [...keys].reverse()) expect(index.add(k)).toBe(true);
    for (const k of keys) expect(index.add(k)).toBe(false);
    index.checkInvariants();
    for (const k of keys) expect(index.delete(k)).toBe(true);
    expect(index.size).toBe(0);
    expect(index.keysAfter(undefined, 10)).toEqual([]);
    expect(index.delete(key(1))).toBe(false);
    index.checkInvariants();
    index.add(key(5));
    expect(index.keysAfter(undefined, 10)).toEqual([key(5)]);
    expect(index.keysAfter(key(5), 10)).toEqual([]);
  });

  it('rejects nonsensical parameters', () => {
    expect(() => new SortedKeyIndex(1)).toThrow(RangeError);
    expect(() => new SortedKeyIndex().keysAfter(undefined, -1)).toThrow(RangeError);
    expect(new SortedKeyIndex().keysAfter(undefined, 0)).toEqual([]);
  });

  it('handles a million keys with interleaved inserts during a paged walk', () => {
    // A flat sorted array would move ~500k elements per insert here; this finishes in seconds
    // only because each insert touches one block.
    const random = prng(seed);
    const index = new SortedKeyIndex();
    const total = 1_000_000;
    for (let i = 0; i < total; i++) index.add(key(Math.floor(random() * 2 ** 32)));
    const initialSize = index.size;
    expect(initialSize).toBeGreaterThan(total * 0.99); // few collisions in 2^32
    let seen = 0;
    let outOfOrder = 0; // counted, not expect()ed per key: a million expects take ~20 s
    let previous = '';
    let inserted = 0;
    let after: string | undefined;
    for (;;) {
      const page = index.keysAfter(after, 10_000);
      for (const k of page) {
        if (!(k > previous)) outOfOrder++;
        previous = k;
      }
      seen += page.length;
      if (page.length < 10_000) break;
      after = page[page.length - 1];
      // Inserts on both sides of the cursor while the walk is in progress.
      for (let j = 0; j < 100; j++) if (index.add(key(Math.floor(random() * 2 ** 32)))) inserted++;
    }
    expect(outOfOrder).toBe(0);
    expect(index.size).toBe(initialSize + inserted);
    expect(seen).toBeGreaterThanOrEqual(initialSize);
    expect(seen).toBeLessThanOrEqual(initialSize + inserted);
    index.checkInvariants();
  }, 30_000);
});
