/**
 * MurmurHash3 x64_128 (Austin Appleby's, seed 0), in pure TypeScript on 32-bit halves (no
 * BigInt on the hot path: the data path hashes every object id).
 *
 * Why this hash: it is what Weaviate uses for both object→shard tokens (spaolacci/murmur3
 * `New64` = the first 64 bits, `h1`, of x64_128 over the 16 raw UUID bytes) and hash-tree leaf
 * digests, so one well-tested implementation serves placement and anti-entropy, and our tokens
 * equal Weaviate's. Its outputs are checked against spaolacci/murmur3 v1.1.0 in the unit tests.
 */

/** A 64-bit unsigned value as two unsigned 32-bit halves. */
export interface U64 {
  readonly hi: number;
  readonly lo: number;
}

export interface Murmur128 {
  readonly h1: U64;
  readonly h2: U64;
}

// 64-bit arithmetic on [hi, lo] pairs of unsigned 32-bit numbers. The helpers write their
// result into the module-level registers `rHi`/`rLo` instead of returning a pair: hashing every
// object id must not allocate per operation.
let rHi = 0;
let rLo = 0;

const C1_HI = 0x87c37b91;
const C1_LO = 0x114253d5;
const C2_HI = 0x4cf5ad43;
const C2_LO = 0x2745937f;

/** (a * b) mod 2^64 on 16-bit limbs (the long.js scheme: every partial sum stays below 2^53). */
function mul64(aHi: number, aLo: number, bHi: number, bLo: number): void {
  const a48 = aHi >>> 16;
  const a32 = aHi & 0xffff;
  const a16 = aLo >>> 16;
  const a00 = aLo & 0xffff;
  const b48 = bHi >>> 16;
  const b32 = bHi & 0xffff;
  const b16 = bLo >>> 16;
  const b00 = bLo & 0xffff;
  let c00 = a00 * b00;
  let c16 = c00 >>> 16;
  c00 &= 0xffff;
  c16 += a16 * b00;
  let c32 = c16 >>> 16;
  c16 &= 0xffff;
  c16 += a00 * b16;
  c32 += c16 >>> 16;
  c16 &= 0xffff;
  c32 += a32 * b00;
  let c48 = c32 >>> 16;
  c32 &= 0xffff;
  c32 += a16 * b16;
  c48 += c32 >>> 16;
  c32 &= 0xffff;
  c32 += a00 * b32;
  c48 += c32 >>> 16;
  c32 &= 0xffff;
  c48 += a48 * b00 + a32 * b16 + a16 * b32 + a00 * b48;
  c48 &= 0xffff;
  rHi = ((c48 << 16) | c32) >>> 0;
  rLo = ((c16 << 16) | c00) >>> 0;
}

function add64(aHi: number, aLo: number, bHi: number, bLo: number): void {
  const lo = aLo + bLo;
  rHi = (aHi + bHi + (lo > 0xffffffff ? 1 : 0)) >>> 0;
  rLo = lo >>> 0;
}

/** Rotate left by 0 < bits < 64, bits ≠ 32. */
function rotl64(hi: number, lo: number, bits: number): void {
  if (bits > 32) {
    const swap = hi;
    hi = lo;
    lo = swap;
    bits -= 32;
  }
  rHi = ((hi << bits) | (lo >>> (32 - bits))) >>> 0;
  rLo = ((lo << bits) | (hi >>> (32 - bits))) >>> 0;
}

/** murmur3's finalizer; x ^ (x >>> 33) only changes the low half: lo ^= hi >>> 1. */
function fmix64(hi: number, lo: number): void {
  lo = (lo ^ (hi >>> 1)) >>> 0;
  mul64(hi, lo, 0xff51afd7, 0xed558ccd);
  hi = rHi;
  lo = (rLo ^ (rHi >>> 1)) >>> 0;
  mul64(hi, lo, 0xc4ceb9fe, 0x1a85ec53);
  rLo = (rLo ^ (rHi >>> 1)) >>> 0;
}

/** k1 · c1, rotl 31, · c2. */
function mixK1(hi: number, lo: number): void {
  mul64(hi, lo, C1_HI, C1_LO);
  rotl64(rHi, rLo, 31);
  mul64(rHi, rLo, C2_HI, C2_LO);
}

/** k2 · c2, rotl 33, · c1. */
function mixK2(hi: number, lo: number): void {
  mul64(hi, lo, C2_HI, C2_LO);
  rotl64(rHi, rLo, 33);
  mul64(rHi, rLo, C1_HI, C1_LO);
}

function le32(bytes: Uint8Array, offset: number): number {
  return (
    (bytes[offset]! |
      (bytes[offset + 1]! << 8) |
      (bytes[offset + 2]! << 16) |
      (bytes[offset + 3]! << 24)) >>>
    0
  );
}

/** Little-endian value of `bytes[from, to)` (at most 8 bytes, zero-extended) into rHi/rLo. */
function readTail(bytes: Uint8Array, from: number, to: number): void {
  let hi = 0;
  let lo = 0;
  for (let i = to - 1; i >= from; i--) {
    const shift = (i - from) * 8;
    if (shift >= 32) hi |= bytes[i]! << (shift - 32);
    else lo |= bytes[i]! << shift;
  }
  rHi = hi >>> 0;
  rLo = lo >>> 0;
}

export function murmur3x64_128(bytes: Uint8Array): Murmur128 {
  const length = bytes.length;
  const blocks = Math.floor(length / 16);
  let h1Hi = 0;
  let h1Lo = 0;
  let h2Hi = 0;
  let h2Lo = 0;

  for (let offset = 0; offset < blocks * 16; offset += 16) {
    mixK1(le32(bytes, offset + 4), le32(bytes, offset));
    rotl64((h1Hi ^ rHi) >>> 0, (h1Lo ^ rLo) >>> 0, 27);
    add64(rHi, rLo, h2Hi, h2Lo);
    mul64(rHi, rLo, 0, 5);
    add64(rHi, rLo, 0, 0x52dce729);
    h1Hi = rHi;
    h1Lo = rLo;

    mixK2(le32(bytes, offset + 12), le32(bytes, offset + 8));
    rotl64((h2Hi ^ rHi) >>> 0, (h2Lo ^ rLo) >>> 0, 31);
    add64(rHi, rLo, h1Hi, h1Lo);
    mul64(rHi, rLo, 0, 5);
    add64(rHi, rLo, 0, 0x38495ab5);
    h2Hi = rHi;
    h2Lo = rLo;
  }

  const tail = blocks * 16;
  const rest = length - tail;
  if (rest > 8) {
    readTail(bytes, tail + 8, length);
    mixK2(rHi, rLo);
    h2Hi = (h2Hi ^ rHi) >>> 0;
    h2Lo = (h2Lo ^ rLo) >>> 0;
  }
  if (rest > 0) {
    readTail(bytes, tail, Math.min(length, tail + 8));
    mixK1(rHi, rLo);
    h1Hi = (h1Hi ^ rHi) >>> 0;
    h1Lo = (h1Lo ^ rLo) >>> 0;
  }

  // Inputs here are far below 2^32 bytes: the length's high half is 0.
  h1Lo = (h1Lo ^ length) >>> 0;
  h2Lo = (h2Lo ^ length) >>> 0;
  add64(h1Hi, h1Lo, h2Hi, h2Lo);
  h1Hi = rHi;
  h1Lo = rLo;
  add64(h2Hi, h2Lo, h1Hi, h1Lo);
  h2Hi = rHi;
  h2Lo = rLo;
  fmix64(h1Hi, h1Lo);
  h1Hi = rHi;
  h1Lo = rLo;
  fmix64(h2Hi, h2Lo);
  h2Hi = rHi;
  h2Lo = rLo;
  add64(h1Hi, h1Lo, h2Hi, h2Lo);
  h1Hi = rHi;
  h1Lo = rLo;
  add64(h2Hi, h2Lo, h1Hi, h1Lo);
  return { h1: { hi: h1Hi, lo: h1Lo }, h2: { hi: rHi, lo: rLo } };
}

/** spaolacci/murmur3 `Sum64` / `New64().Sum64()`: the first half of x64_128. */
export function murmur3x64_64(bytes: Uint8Array): U64 {
  return murmur3x64_128(bytes).h1;
}

/** 16 hex digits, most significant first (for logs, golden tests). */
export function u64Hex(value: U64): string {
  return value.hi.toString(16).padStart(8, '0') + value.lo.toString(16).padStart(8, '0');
}
