/**
 * Rate limiters for the work queue, as in client-go's workqueue: a per-key exponential backoff for
 * retries combined with an overall token bucket, the delay being the larger of the two. Together they
 * stop one failing object from spinning and many failing objects from flooding the API server.
 */
import type { Clock } from './clock.js';

export interface RateLimiter {
  /** How long `key` should wait before its next attempt; counts the attempt. */
  when(key: string): number;
  /** Clears the key's failure history (it succeeded, or it is gone). */
  forget(key: string): void;
  /** Failures counted for `key` since it was last forgotten. */
  numRequeues(key: string): number;
}

/** Per-key delay `baseMs * 2^failures`, capped at `maxMs` (client-go: 5 ms → 1000 s). */
export class ExponentialFailureRateLimiter implements RateLimiter {
  private readonly failures = new Map<string, number>();

  constructor(
    private readonly baseMs: number,
    private readonly maxMs: number,
  ) {
    if (baseMs <= 0 || maxMs < baseMs) {
      throw new Error(`invalid per-key backoff: need 0 < baseMs (${baseMs}) <= maxMs (${maxMs})`);
    }
  }

  when(key: string): number {
    const failures = this.failures.get(key) ?? 0;
    this.failures.set(key, failures + 1);
    // The exponent is clamped so a key failing for days cannot overflow to Infinity.
    return Math.min(this.baseMs * 2 ** Math.min(failures, 52), this.maxMs);
  }

  forget(key: string): void {
    this.failures.delete(key);
  }

  numRequeues(key: string): number {
    return this.failures.get(key) ?? 0;
  }
}

/**
 * Token bucket shared by all keys (client-go: 10 per second, burst 100). Like golang's
 * `rate.Limiter.Reserve`, a request always gets a slot: the bucket may go into debt and the debt
 * becomes the delay, so callers are spaced at `1/qps` once the burst is spent.
 */
export class TokenBucketRateLimiter implements RateLimiter {
  private tokens: number;
  private last: number;

  constructor(
    private readonly qps: number,
    private readonly burst: number,
    private readonly clock: Clock,
  ) {
    if (qps <= 0 || burst < 1) {
      throw new Error(`invalid token bucket: need qps (${qps}) > 0 and burst (${burst}) >= 1`);
    }
    this.tokens = burst;
    this.last = clock.now();
  }

  when(): number {
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.qps);
    this.last = now;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : (-this.tokens / this.qps) * 1000;
  }

  forget(): void {}

  numRequeues(): number {
    return 0;
  }
}

/** The slowest of several limiters decides; each of them counts the attempt. */
export class MaxOfRateLimiter implements RateLimiter {
  private readonly limiters: readonly RateLimiter[];

  constructor(...limiters: RateLimiter[]) {
    this.limiters = limiters;
  }

  when(key: string): number {
    return Math.max(0, ...this.limiters.map((limiter) => limiter.when(key)));
  }

  forget(key: string): void {
    for (const limiter of this.limiters) limiter.forget(key);
  }

  numRequeues(key: string): number {
    return Math.max(0, ...this.limiters.map((limiter) => limiter.numRequeues(key)));
  }
}

export interface DefaultRateLimiterOptions {
  /** First retry delay of a key (client-go: 5 ms). */
  baseDelayMs?: number;
  /** Longest retry delay of a key (client-go: 1000 s). */
  maxDelayMs?: number;
  /** Overall retry rate (client-go: 10 per second). */
  qps?: number;
  /** Retries allowed at once before the rate applies (client-go: 100). */
  burst?: number;
}

/** client-go's `DefaultControllerRateLimiter`, with every number overridable. */
export function defaultControllerRateLimiter(
  clock: Clock,
  options: DefaultRateLimiterOptions = {},
): RateLimiter {
  return new MaxOfRateLimiter(
    new ExponentialFailureRateLimiter(options.baseDelayMs ?? 5, options.maxDelayMs ?? 1_000_000),
    new TokenBucketRateLimiter(options.qps ?? 10, options.burst ?? 100, clock),
  );
}
