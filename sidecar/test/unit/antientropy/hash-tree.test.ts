/**
 * Entry hashing and the hash tree: the hash against SMHasher's verification value, tree keys
 * spread even time-ordered ids, and seeded properties — equal sets ⇔ equal roots (every height
 * 0..12, any insertion order), incremental updates equal a rebuild, digests do not depend on the
 * height. Replay with ANTIENTROPY_SEED=<seed>.
 */
import {
  bytesToUuid,
  compareTreeOrder,
  entryHash,
  murmur3x86_128,
  nodeAtLevel,
  treeKeyOf,
  uuidToBytes,
} from '../../../src/antientropy/entry-hash.js';
import { HashTree, treeMemoryBytes } from '../../../src/antientropy/hash-tree.js';
import type { Digest } from '../../../src/storage/object-store.js';
import { prng, seedFrom } from '../../support/random.js';
import {
  entry,
  int,
  newer,
  pick,
  randomEntries,
  sequentialUuid,
  uuid,
  v,
  version,
  type Rand,
} from './helpers.js';

const seed = seedFrom('ANTIENTROPY_SEED', 'antientropy hash-tree');

function shuffled<T>(rand: Rand, items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

function incremental(height: number, entries: readonly Digest[]): HashTree {
  const tree = new HashTree(height);
  for (const e of entries) tree.update(e.id, null, e);
  return tree;
}

describe('murmur3 x86_128', () => {
  test('matches SMHasher verification value 0xB3ECE62A', () => {
    // SMHasher VerificationTest: hash keys {}, {0}, {0,1}, … (length i, seed 256 − i), hash the
    // concatenated little-endian results with seed 0, take the first 32 bits.
    const key = new Uint8Array(256);
    const hashes = new Uint8Array(16 * 256);
    const view = new DataView(hashes.buffer);
    const out = new Uint32Array(4);
    for (let i = 0; i < 256; i++) {
      key[i] = i;
      murmur3x86_128(key, i, 256 - i, out, 0);
      for (let w = 0; w < 4; w++) view.setUint32(16 * i + 4 * w, out[w]!, true);
    }
    murmur3x86_128(hashes, hashes.length, 0, out, 0);
    expect(out[0]!.toString(16)).toBe('b3ece62a');
  });

  test('empty input with seed 0 hashes to zero (reference behaviour)', () => {
    const out = new Uint32Array(4);
    murmur3x86_128(new Uint8Array(0), 0, 0, out, 0);
    expect([...out]).toEqual([0, 0, 0, 0]);
  });
});

describe('entry hashing', () => {
  const id = '6f1c2d3e-4a5b-4c6d-8e7f-0123456789ab';

  test('uuid bytes round trip; either case gives the same bytes', () => {
    const a = new Uint8Array(16);
    const b = new Uint8Array(16);
    uuidToBytes(id, a);
    uuidToBytes(id.toUpperCase(), b);
    expect(a).toEqual(b);
    expect(bytesToUuid(a)).toBe(id);
    expect(() => uuidToBytes('not-a-uuid', a)).toThrow(RangeError);
    expect(() => uuidToBytes(id.replace('-', 'x'), a)).toThrow(RangeError);
    expect(() => uuidToBytes(id.slice(0, 35) + 'g', a)).toThrow(RangeError);
    // A non-ASCII character whose low 7 bits are a hex digit ('°' = 0xB0 → '0').
    expect(() => uuidToBytes(id.slice(0, 35) + '\u00b0', a)).toThrow(RangeError);
    expect(() => uuidToBytes(id.slice(0, 35) + '\u0130', a)).toThrow(RangeError);
  });

  test('each field of the state changes the hash', () => {
    const base = entryHash(entry(id, v(1000)));
    expect(entryHash(entry(id, v(1000)))).toEqual(base);
    expect(entryHash(entry(id, v(1000), true))).not.toEqual(base);
    expect(entryHash(entry(id, v(1001)))).not.toEqual(base);
    expect(entryHash(entry(id, v(1000, 1)))).not.toEqual(base);
    expect(entryHash(entry(id, v(1000, 0, 'node-1')))).not.toEqual(base);
    expect(entryHash(entry(id.replace('6f', '6e'), v(1000)))).not.toEqual(base);
  });

  test('tree keys spread time-ordered ids evenly over leaves', () => {
    const leaves = 256;
    const per = 40;
    const counts = new Array<number>(leaves).fill(0);
    for (let n = 0; n < leaves * per; n++) counts[nodeAtLevel(treeKeyOf(sequentialUuid(n)), 8)]!++;
    // Chi-square with 255 degrees of freedom: mean 255, sd ≈ 22.6; 400 is > 6 sd out.
    const chi2 = counts.reduce((sum, c) => sum + (c - per) ** 2 / per, 0);
    expect(chi2).toBeLessThan(400);
  });

  test('tree order: by key, then id; level prefixes nest', () => {
    expect(compareTreeOrder({ key: 1, id: 'b' }, { key: 2, id: 'a' })).toBe(-1);
    expect(compareTreeOrder({ key: 2, id: 'a' }, { key: 2, id: 'b' })).toBe(-1);
    expect(compareTreeOrder({ key: 2, id: 'a' }, { key: 2, id: 'a' })).toBe(0);
    const rand = prng(seed);
    let nested = true;
    for (let i = 0; i < 200; i++) {
      const key = treeKeyOf(uuid(rand));
      for (let level = 1; level <= 20; level++) {
        nested &&= nodeAtLevel(key, level - 1) === nodeAtLevel(key, level) >>> 1;
      }
    }
    expect(nested).toBe(true);
  });
});

describe('hash tree', () => {
  test('memory is (2^(H+1) − 1) × 16 bytes', () => {
    expect(treeMemoryBytes(0)).toBe(16);
    expect(treeMemoryBytes(10)).toBe(32_752);
    expect(treeMemoryBytes(16)).toBe(2_097_136);
    expect(treeMemoryBytes(20)).toBe(33_554_416);
    expect(new HashTree(12).memoryBytes).toBe(treeMemoryBytes(12));
    expect(() => new HashTree(21)).toThrow(RangeError);
    expect(() => new HashTree(-1)).toThrow(RangeError);
  });

  test('empty trees have a zero root at every height', () => {
    for (let h = 0; h <= 12; h++)
      expect([...new HashTree(h).root()].every((b) => b === 0)).toBe(true);
  });

  test('property: equal sets ⇔ equal roots, any order, heights 0..12', () => {
    const rand = prng(seed ^ 0x1111);
    for (let round = 0; round < 40; round++) {
      const height = int(rand, 0, 12);
      const entries = randomEntries(rand, int(rand, 0, 300));
      const a = incremental(height, entries);
      const b = HashTree.fromEntries(height, shuffled(rand, entries));
      expect(b.sameAs(a)).toBe(true);
      a.checkInvariant();
      // One change of any kind makes the roots differ.
      const mutated = [...entries];
      const change =
        entries.length === 0 ? 'add' : pick(rand, ['add', 'remove', 'version', 'flag'] as const);
      const i = int(rand, 0, Math.max(0, entries.length - 1));
      if (change === 'add') mutated.push(entry(uuid(rand), version(rand), rand() < 0.5));
      else if (change === 'remove') mutated.splice(i, 1);
      else if (change === 'version')
        mutated[i] = { ...entries[i]!, version: newer(rand, entries[i]!.version) };
      else mutated[i] = { ...entries[i]!, deleted: !entries[i]!.deleted };
      const c = HashTree.fromEntries(height, mutated);
      expect(Buffer.from(c.root()).equals(Buffer.from(a.root()))).toBe(false);
    }
  });

  test('property: random update sequences equal a rebuild of the final set', () => {
    const rand = prng(seed ^ 0x2222);
    for (let round = 0; round < 30; round++) {
      const height = int(rand, 0, 12);
      const tree = new HashTree(height);
      const state = new Map<string, Digest>();
      const ids = Array.from({ length: int(rand, 1, 80) }, () => uuid(rand));
      for (let op = 0; op < 400; op++) {
        const id = pick(rand, ids);
        const prev = state.get(id) ?? null;
        let next: Digest | null;
        const r = rand();
        if (r < 0.15) next = null;
        else if (prev === null) next = entry(id, version(rand), rand() < 0.3);
        else next = entry(id, newer(rand, prev.version), rand() < 0.3);
        tree.update(id, prev, next);
        if (next === null) state.delete(id);
        else state.set(id, next);
      }
      expect(tree.sameAs(HashTree.fromEntries(height, state.values()))).toBe(true);
      expect(tree.entryCount).toBe(state.size);
      tree.checkInvariant();
    }
  });

  test('node digests do not depend on the tree height', () => {
    const rand = prng(seed ^ 0x3333);
    const entries = randomEntries(rand, 500);
    const small = HashTree.fromEntries(6, entries);
    const large = HashTree.fromEntries(12, entries);
    for (let level = 0; level <= 6; level++) {
      const n = 2 ** level;
      const a = new Uint8Array(16 * n);
      const b = new Uint8Array(16 * n);
      small.writeDigests(level, 0, n, a, 0);
      large.writeDigests(level, 0, n, b, 0);
      expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    }
  });

  test('leaf digest is the XOR of its entries; nodeEquals reads BE bytes', () => {
    const rand = prng(seed ^ 0x4444);
    const entries = randomEntries(rand, 50);
    const tree = HashTree.fromEntries(3, entries);
    for (let leaf = 0; leaf < 8; leaf++) {
      const xor = new Uint32Array(4);
      for (const e of entries) {
        if (nodeAtLevel(treeKeyOf(e.id), 3) !== leaf) continue;
        const h = entryHash(e);
        for (let w = 0; w < 4; w++) xor[w] = xor[w]! ^ h[w]!;
      }
      const bytes = new Uint8Array(16);
      const view = new DataView(bytes.buffer);
      for (let w = 0; w < 4; w++) view.setUint32(4 * w, xor[w]!);
      expect(tree.nodeEquals(3, leaf, bytes, 0)).toBe(true);
      expect(Buffer.from(tree.digest(3, leaf)).equals(Buffer.from(bytes))).toBe(true);
    }
    expect(tree.leafOf(entries[0]!.id)).toBe(nodeAtLevel(treeKeyOf(entries[0]!.id), 3));
  });

  test('refuses mismatched ids, bad levels and reads during bulk', () => {
    const tree = new HashTree(4);
    const e = entry(uuid(prng(seed)), v(1));
    expect(() => tree.update('00000000-0000-0000-0000-000000000000', e, null)).toThrow(RangeError);
    expect(() => tree.digest(5, 0)).toThrow(RangeError);
    expect(() => tree.digest(2, 4)).toThrow(RangeError);
    tree.beginBulk();
    expect(() => tree.root()).toThrow(/being built/);
    tree.endBulk();
    tree.update(e.id, e, e); // same state: no-op
    expect(tree.entryCount).toBe(0);
  });
});
