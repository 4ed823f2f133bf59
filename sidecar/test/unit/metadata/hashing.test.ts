/**
 * murmur3 x64_128 against golden vectors produced by spaolacci/murmur3 v1.1.0 (the Go library
 * Weaviate uses), and against a straightforward BigInt transcription of the reference C code on
 * seeded random inputs of every length class (blocks, tails of 1..15 bytes). Seeded: replay with
 * METADATA_HASH_SEED=<seed>.
 */
import { murmur3x64_128, murmur3x64_64, u64Hex } from '../../../src/metadata/hashing.js';
import { prng, seedFrom } from '../../support/random.js';

const seed = seedFrom('METADATA_HASH_SEED', 'metadata hashing');

/** spaolacci/murmur3 `Sum128` (h1, h2) over the UTF-8 bytes. */
const STRING_VECTORS: readonly [string, string, string][] = [
  ['', '0000000000000000', '0000000000000000'],
  ['hello', 'cbd8a7b341bd9b02', '5b1e906a48ae1d19'],
  ['The quick brown fox jumps over the lazy dog', 'e34bbc7bbc071b6c', '7a433ca9c49a9347'],
  ['a', '85555565f6597889', 'e6b53a48510e895a'],
  ['0123456789abcdef', '4be06d94cf4ad1a7', '87c35b5c63a708da'],
  ['0123456789abcdef0', 'eb24ae8785a5c075', '73fb68b3313128ca'],
  ['0123456789abcde', 'a62dd5f6c0bf2351', '4fccf50c7c544cf0'],
];

/** spaolacci/murmur3 `New64().Sum64()` over the 16 raw bytes: Weaviate's shard token. */
const UUID_TOKENS: readonly [string, string][] = [
  ['00000000000000000000000000000000', '4bbd1bf27da918d6'],
  ['ffffffffffffffffffffffffffffffff', 'd8ce73d7a39a46e6'],
  ['6f9619ff8b86d011b42d00c04fc964ff', '81aab2e8d1de6307'],
  ['c2d3e1a0537c4bd4a9f3f0e3a8d4b7c1', '9d5ef555c3dcf6a0'],
  ['018f3b5c7e2a7c4d9e1f2a3b4c5d6e7f', 'c9fa616c13c9c71d'],
];

const MASK = (1n << 64n) - 1n;
const rotl = (x: bigint, r: bigint) => ((x << r) | (x >> (64n - r))) & MASK;
const fmix = (k: bigint) => {
  k ^= k >> 33n;
  k = (k * 0xff51afd7ed558ccdn) & MASK;
  k ^= k >> 33n;
  k = (k * 0xc4ceb9fe1a85ec53n) & MASK;
  return k ^ (k >> 33n);
};

/** The reference algorithm, transcribed literally with BigInt. */
function referenceMurmur(bytes: Uint8Array): [bigint, bigint] {
  const c1 = 0x87c37b91114253d5n;
  const c2 = 0x4cf5ad432745937fn;
  const le = (from: number, to: number) => {
    let v = 0n;
    for (let i = to - 1; i >= from; i--) v = (v << 8n) | BigInt(bytes[i]!);
    return v;
  };
  let h1 = 0n;
  let h2 = 0n;
  const blocks = Math.floor(bytes.length / 16);
  for (let b = 0; b < blocks; b++) {
    let k1 = le(b * 16, b * 16 + 8);
    let k2 = le(b * 16 + 8, b * 16 + 16);
    k1 = (rotl((k1 * c1) & MASK, 31n) * c2) & MASK;
    h1 ^= k1;
    h1 = (((rotl(h1, 27n) + h2) & MASK) * 5n + 0x52dce729n) & MASK;
    k2 = (rotl((k2 * c2) & MASK, 33n) * c1) & MASK;
    h2 ^= k2;
    h2 = (((rotl(h2, 31n) + h1) & MASK) * 5n + 0x38495ab5n) & MASK;
  }
  const tail = blocks * 16;
  const rest = bytes.length - tail;
  if (rest > 8) h2 ^= (rotl((le(tail + 8, bytes.length) * c2) & MASK, 33n) * c1) & MASK;
  if (rest > 0)
    h1 ^= (rotl((le(tail, Math.min(bytes.length, tail + 8)) * c1) & MASK, 31n) * c2) & MASK;
  h1 ^= BigInt(bytes.length);
  h2 ^= BigInt(bytes.length);
  h1 = (h1 + h2) & MASK;
  h2 = (h2 + h1) & MASK;
  h1 = fmix(h1);
  h2 = fmix(h2);
  h1 = (h1 + h2) & MASK;
  h2 = (h2 + h1) & MASK;
  return [h1, h2];
}

const hex = (v: bigint) => v.toString(16).padStart(16, '0');

describe('murmur3 x64_128', () => {
  it.each(STRING_VECTORS)('matches spaolacci/murmur3 for %j', (input, h1, h2) => {
    const hash = murmur3x64_128(Buffer.from(input, 'utf8'));
    expect([u64Hex(hash.h1), u64Hex(hash.h2)]).toEqual([h1, h2]);
  });

  it.each(UUID_TOKENS)('gives Weaviate’s 64-bit token for the UUID bytes %s', (uuidHex, token) => {
    expect(u64Hex(murmur3x64_64(Buffer.from(uuidHex, 'hex')))).toBe(token);
  });

  it('the BigInt reference reproduces the golden vectors (so it can judge random inputs)', () => {
    for (const [input, h1, h2] of STRING_VECTORS) {
      expect(referenceMurmur(Buffer.from(input, 'utf8')).map(hex)).toEqual([h1, h2]);
    }
  });

  it('equals the reference on random inputs of every tail length', () => {
    const random = prng(seed);
    for (let i = 0; i < 600; i++) {
      const length = i < 64 ? i : Math.floor(random() * 200);
      const bytes = Uint8Array.from({ length }, () => Math.floor(random() * 256));
      const hash = murmur3x64_128(bytes);
      expect([`seed=${seed} i=${i}`, u64Hex(hash.h1), u64Hex(hash.h2)]).toEqual([
        `seed=${seed} i=${i}`,
        ...referenceMurmur(bytes).map(hex),
      ]);
    }
  });
});
