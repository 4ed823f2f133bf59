/** Small, exact statistics for benchmarks: bounded latency samples, percentiles, medians. */

/**
 * Latency samples in microseconds, bounded in memory. Up to `capacity` samples are kept exactly;
 * past that, reservoir sampling (Algorithm R) keeps a uniform sample of the whole run, so a long
 * run neither grows without bound nor over-represents its beginning.
 */
export class LatencySamples {
  private readonly values: Float64Array;
  private seen = 0;
  private sorted: Float64Array | null = null;

  constructor(
    readonly capacity: number,
    private readonly random: () => number = Math.random,
  ) {
    this.values = new Float64Array(capacity);
  }

  /** How many samples were offered (not how many are kept). */
  get count(): number {
    return this.seen;
  }

  record(micros: number): void {
    const index = this.seen < this.capacity ? this.seen : Math.floor(this.random() * this.seen);
    this.seen++;
    if (index < this.capacity) this.values[index] = micros;
    this.sorted = null;
  }

  /** Nearest-rank percentile (0 < p ≤ 100) of the kept samples; NaN when there are none. */
  percentile(p: number): number {
    const kept = Math.min(this.seen, this.capacity);
    if (kept === 0) return Number.NaN;
    this.sorted ??= this.values.slice(0, kept).sort(); // typed arrays sort numerically
    const rank = Math.ceil((p / 100) * kept);
    return this.sorted[Math.min(kept, Math.max(1, rank)) - 1]!;
  }

  /** Forget everything, keeping the allocation (one buffer serves every case of a run). */
  reset(): void {
    this.seen = 0;
    this.sorted = null;
  }
}

/** The median of a non-empty list (mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Microseconds elapsed since a `process.hrtime.bigint()` reading. */
export function microsSince(startNs: bigint): number {
  return Number(process.hrtime.bigint() - startNs) / 1000;
}
