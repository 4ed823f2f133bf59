import { describe, expect, it } from '@jest/globals';
import {
  ExponentialFailureRateLimiter,
  MaxOfRateLimiter,
  TokenBucketRateLimiter,
  defaultControllerRateLimiter,
} from '../../../src/runtime/rate-limiter.js';
import { FakeClock } from './support/fake-clock.js';

describe('ExponentialFailureRateLimiter', () => {
  it('doubles per failure from the base, per key, and forget starts over', () => {
    const limiter = new ExponentialFailureRateLimiter(5, 1_000_000);
    expect([1, 2, 3, 4, 5].map(() => limiter.when('a'))).toEqual([5, 10, 20, 40, 80]);
    expect(limiter.when('b')).toBe(5);
    expect(limiter.numRequeues('a')).toBe(5);
    limiter.forget('a');
    expect(limiter.numRequeues('a')).toBe(0);
    expect(limiter.when('a')).toBe(5);
  });

  it('caps at the maximum and never overflows', () => {
    const limiter = new ExponentialFailureRateLimiter(5, 1_000_000);
    let delay = 0;
    for (let i = 0; i < 2_000; i++) delay = limiter.when('a');
    expect(delay).toBe(1_000_000);
  });

  it('rejects nonsensical bounds', () => {
    expect(() => new ExponentialFailureRateLimiter(0, 10)).toThrow(/baseMs/);
    expect(() => new ExponentialFailureRateLimiter(10, 5)).toThrow(/maxMs/);
  });
});

describe('TokenBucketRateLimiter', () => {
  it('lets a burst through, then spaces requests at 1/qps, and refills over time', async () => {
    const clock = new FakeClock();
    const limiter = new TokenBucketRateLimiter(10, 100, clock);
    for (let i = 0; i < 100; i++) expect(limiter.when()).toBe(0);
    expect(limiter.when()).toBeCloseTo(100);
    expect(limiter.when()).toBeCloseTo(200);
    // 1 s later 10 tokens came back, paying off the 2 borrowed: 8 free requests.
    await clock.advance(1_000);
    for (let i = 0; i < 8; i++) expect(limiter.when()).toBe(0);
    expect(limiter.when()).toBeCloseTo(100);
  });
});

describe('defaultControllerRateLimiter', () => {
  it('is the slower of per-key backoff and the overall bucket', () => {
    const clock = new FakeClock();
    const limiter = defaultControllerRateLimiter(clock, { qps: 1, burst: 1 });
    expect(limiter.when('a')).toBe(5); // bucket has a token; backoff decides
    expect(limiter.when('b')).toBeCloseTo(1_000); // bucket empty: 1 s debt beats 5 ms
    expect(limiter.numRequeues('a')).toBe(1);
    limiter.forget('a');
    expect(limiter.numRequeues('a')).toBe(0);
  });

  it('combines any limiters through MaxOfRateLimiter', () => {
    const limiter = new MaxOfRateLimiter(
      new ExponentialFailureRateLimiter(1, 100),
      new ExponentialFailureRateLimiter(3, 100),
    );
    expect(limiter.when('a')).toBe(3);
    expect(limiter.when('a')).toBe(6);
    expect(limiter.numRequeues('a')).toBe(2);
  });
});
