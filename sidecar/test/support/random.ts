/** Deterministic randomness for tests: every randomized test logs its seed and replays from it. */

/** Small deterministic PRNG (mulberry32): same seed, same sequence. Returns floats in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The seed from `variable` if set (a replay), else a fresh one; logged either way. */
export function seedFrom(variable: string, label: string): number {
  const given = process.env[variable];
  const seed = given ? Number(given) : Math.floor(Math.random() * 2 ** 32);
  if (!Number.isInteger(seed))
    throw new Error(`${variable} must be an integer seed, got "${given}"`);
  console.log(`${label} seed=${seed} (replay: ${variable}=${seed})`);
  return seed;
}
