/**
 * A keyed work queue with client-go's semantics, the heart of level-triggered reconciling:
 *
 * - a key is queued at most once however often it is added (events coalesce);
 * - a key is never handed to two workers at once: re-added while processing, it is queued again
 *   only when its worker calls `done`;
 * - `addAfter` delays a key (the earliest requested time wins), `addRateLimited` delays it by its
 *   rate limiter (per-key exponential backoff, overall token bucket) and `forget` resets that;
 * - the number of queued keys is bounded, so a flood of events cannot exhaust memory;
 * - `shutDown` stops handing out work at once, `shutDownWithDrain` lets queued work finish first.
 */
import { systemClock, type Clock, type TimerHandle } from './clock.js';
import { defaultControllerRateLimiter, type RateLimiter } from './rate-limiter.js';
import { workQueueMetrics, type QueueMetrics } from './work-queue-metrics.js';
import type { Registry } from 'prom-client';

export interface WorkQueueOptions {
  /** Names the queue in metrics (the `name` label); use the controller's name. */
  name: string;
  clock?: Clock;
  /** Decides `addRateLimited` delays; default client-go's controller limiter. */
  rateLimiter?: RateLimiter;
  /** Most keys queued (and, separately, most keys delayed) at once; adds beyond are refused. */
  maxLength?: number;
  /** Where `workqueue_*` metrics go; none when omitted. */
  registry?: Registry;
}

export const DEFAULT_MAX_QUEUE_LENGTH = 10_000;

type State = 'running' | 'draining' | 'stopped';

export class WorkQueue {
  readonly name: string;
  private readonly clock: Clock;
  private readonly rateLimiter: RateLimiter;
  private readonly maxLength: number;
  private readonly metrics: QueueMetrics | undefined;

  /** FIFO of keys waiting for a worker; `head` avoids O(n) shifts. */
  private fifo: string[] = [];
  private head = 0;
  /** Keys that need processing: queued in `fifo`, or re-added while a worker holds them. */
  private readonly dirty = new Set<string>();
  /** Keys held by a worker, with the time it took them. */
  private readonly processing = new Map<string, number>();
  private readonly enqueuedAt = new Map<string, number>();
  private readonly delayed = new Map<string, { readyAt: number; timer: TimerHandle }>();
  private waiters: (() => void)[] = [];
  private state: State = 'running';
  private onIdle: (() => void) | undefined;

  constructor(options: WorkQueueOptions) {
    this.name = options.name;
    this.clock = options.clock ?? systemClock;
    this.rateLimiter = options.rateLimiter ?? defaultControllerRateLimiter(this.clock);
    this.maxLength = options.maxLength ?? DEFAULT_MAX_QUEUE_LENGTH;
    if (!Number.isInteger(this.maxLength) || this.maxLength < 1) {
      throw new Error(`work queue ${this.name}: maxLength must be a positive integer`);
    }
    this.metrics =
      options.registry && workQueueMetrics(options.registry, this.name, () => this.inFlight());
  }

  /**
   * Queues `key` unless it is already queued. Returns false when the key was refused: the queue is
   * shutting down or full (callers rely on the periodic resync to bring a refused key back).
   */
  add(key: string): boolean {
    if (this.state !== 'running') return false;
    if (this.dirty.has(key)) return true;
    if (this.dirty.size >= this.maxLength) return false;
    this.metrics?.added();
    this.dirty.add(key);
    // A key being processed is queued again by done(), never handed to a second worker.
    if (!this.processing.has(key)) this.push(key);
    return true;
  }

  /** Queues `key` after `delayMs`; if it is already waiting, the earlier time wins. */
  addAfter(key: string, delayMs: number): boolean {
    if (this.state !== 'running') return false;
    this.metrics?.retried();
    if (delayMs <= 0) return this.add(key);
    const readyAt = this.clock.now() + delayMs;
    const waiting = this.delayed.get(key);
    if (waiting !== undefined && waiting.readyAt <= readyAt) return true;
    if (waiting === undefined && this.delayed.size >= this.maxLength) return false;
    waiting?.timer.cancel();
    const timer = this.clock.setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, delayMs);
    this.delayed.set(key, { readyAt, timer });
    return true;
  }

  /** Queues `key` after the delay its rate limiter assigns (a retry after failure). */
  addRateLimited(key: string): boolean {
    if (this.state !== 'running') return false;
    return this.addAfter(key, this.rateLimiter.when(key));
  }

  /** Resets `key`'s backoff: call after it was processed successfully. */
  forget(key: string): void {
    this.rateLimiter.forget(key);
  }

  numRequeues(key: string): number {
    return this.rateLimiter.numRequeues(key);
  }

  /** Keys waiting for a worker (not counting those being processed or delayed). */
  get length(): number {
    return this.fifo.length - this.head;
  }

  get shuttingDown(): boolean {
    return this.state !== 'running';
  }

  /**
   * The next key to process, waiting until there is one; `undefined` once the queue is shut down
   * (or draining and empty): the worker should then exit. Call `done(key)` when finished with it.
   */
  async get(): Promise<string | undefined> {
    while (this.length === 0) {
      if (this.state !== 'running') return undefined;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    const key = this.fifo[this.head] as string;
    this.head++;
    this.compact();
    const now = this.clock.now();
    this.dirty.delete(key);
    this.processing.set(key, now);
    this.metrics?.queued((now - (this.enqueuedAt.get(key) ?? now)) / 1000);
    this.enqueuedAt.delete(key);
    this.metrics?.setDepth(this.length);
    return key;
  }

  /** Marks `key` finished; if it was re-added meanwhile, it is queued again now. */
  done(key: string): void {
    const startedAt = this.processing.get(key);
    if (startedAt === undefined) return;
    this.processing.delete(key);
    this.metrics?.worked((this.clock.now() - startedAt) / 1000);
    if (this.dirty.has(key)) this.push(key);
    this.checkIdle();
  }

  /** Stops at once: queued and delayed keys are dropped, waiting workers get `undefined`. */
  shutDown(): void {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    this.cancelDelayed();
    this.fifo = [];
    this.head = 0;
    this.dirty.clear();
    this.enqueuedAt.clear();
    this.metrics?.setDepth(0);
    this.metrics?.close();
    this.wakeAll();
    this.checkIdle();
  }

  /**
   * Refuses new keys but lets workers finish the queued ones. Resolves true once nothing is queued
   * or processing, or false if that took longer than `timeoutMs` (the queue is then shut down).
   */
  shutDownWithDrain(timeoutMs: number): Promise<boolean> {
    if (this.state === 'running') {
      this.state = 'draining';
      this.cancelDelayed();
      // Idle workers wake up and leave; busy ones drain the FIFO before they see the end.
      this.wakeAll();
    }
    return new Promise((resolve) => {
      const timer = this.clock.setTimeout(() => {
        this.onIdle = undefined;
        this.shutDown();
        resolve(false);
      }, timeoutMs);
      this.onIdle = () => {
        timer.cancel();
        resolve(true);
      };
      this.checkIdle();
    });
  }

  private push(key: string): void {
    this.fifo.push(key);
    this.enqueuedAt.set(key, this.clock.now());
    this.metrics?.setDepth(this.length);
    this.waiters.shift()?.();
  }

  /** Drops consumed FIFO slots once they are the larger half, keeping get() O(1) amortized. */
  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.fifo.length) {
      this.fifo = this.fifo.slice(this.head);
      this.head = 0;
    }
  }

  private cancelDelayed(): void {
    for (const { timer } of this.delayed.values()) timer.cancel();
    this.delayed.clear();
  }

  private wakeAll(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  private checkIdle(): void {
    if (
      this.onIdle &&
      this.state !== 'running' &&
      this.length === 0 &&
      this.processing.size === 0
    ) {
      const onIdle = this.onIdle;
      this.onIdle = undefined;
      onIdle();
    }
  }

  private inFlight(): { unfinishedSeconds: number; longestSeconds: number } {
    const now = this.clock.now();
    let unfinished = 0;
    let longest = 0;
    for (const startedAt of this.processing.values()) {
      const seconds = (now - startedAt) / 1000;
      unfinished += seconds;
      longest = Math.max(longest, seconds);
    }
    return { unfinishedSeconds: unfinished, longestSeconds: longest };
  }
}
