/** Jittered exponential backoff for retry loops that must never spin (informer restarts). */

export interface BackoffOptions {
  /** First delay. */
  baseMs: number;
  /** Ceiling before jitter. */
  maxMs: number;
  /** Each delay is stretched by up to this fraction at random, so restarts of many replicas spread. */
  jitter: number;
  /** Source of randomness in [0, 1); injectable for deterministic tests. */
  random?: () => number;
}

export class Backoff {
  private failures = 0;

  constructor(private readonly options: BackoffOptions) {
    if (options.baseMs <= 0 || options.maxMs < options.baseMs || options.jitter < 0) {
      throw new Error(
        `invalid backoff: need 0 < baseMs (${options.baseMs}) <= maxMs (${options.maxMs}), jitter >= 0`,
      );
    }
  }

  /** The delay before the next attempt; each call doubles the following one, up to maxMs. */
  next(): number {
    const exponential = this.options.baseMs * 2 ** Math.min(this.failures, 52);
    this.failures++;
    const capped = Math.min(exponential, this.options.maxMs);
    const random = this.options.random ?? Math.random;
    return capped * (1 + this.options.jitter * random());
  }

  reset(): void {
    this.failures = 0;
  }

  get attempts(): number {
    return this.failures;
  }
}
