/**
 * A controller: N workers taking keys from a work queue and calling `reconcile(key)`, as in
 * controller-runtime. What happens to a key after its reconcile:
 *
 * | reconcile                     | key                               | result label    |
 * |-------------------------------|-----------------------------------|-----------------|
 * | throws                        | retried with per-key backoff      | `error`         |
 * | returns `{requeueAfterMs: n}` | backoff reset, reconciled after n | `requeue_after` |
 * | returns `{requeue: true}`     | retried with per-key backoff      | `requeue`       |
 * | returns nothing               | backoff reset                     | `success`       |
 *
 * Every cached primary is also re-enqueued each `resyncPeriodMs`, so anything missed (a refused
 * add, drift no event reports) is corrected eventually. The queue guarantees one key is never
 * reconciled by two workers at once.
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { systemClock, withTimeout, type Clock, type TimerHandle } from './clock.js';
import {
  controllerMetrics,
  type ControllerMetrics,
  type ReconcileOutcome,
} from './controller-metrics.js';
import type { RateLimiter } from './rate-limiter.js';
import { WorkQueue } from './work-queue.js';

export interface ReconcileResult {
  /** Reconcile again after this long even if nothing changes (e.g. polling external state). */
  requeueAfterMs?: number;
  /** Reconcile again soon, with backoff, without counting an error (e.g. waiting on a rollout). */
  requeue?: boolean;
}

/**
 * Brings the object named by `key` to its desired state. `signal` aborts when the controller gives
 * up waiting for it at shutdown; long waits should honour it.
 */
export type ReconcileFn = (key: string, signal: AbortSignal) => Promise<ReconcileResult | void>;

export interface ControllerOptions {
  /** The `controller` label of metrics and the name in logs, e.g. "cluster". */
  name: string;
  reconcile: ReconcileFn;
  logger: Logger;
  registry?: Registry;
  clock?: Clock;
  /** Workers reconciling different keys at once (controller-runtime default: 1). */
  maxConcurrentReconciles?: number;
  /** The queue's retry limiter (default client-go's: 5 ms → 1000 s per key, 10 qps / 100 burst). */
  rateLimiter?: RateLimiter;
  /** Most keys the queue holds. */
  maxQueueLength?: number;
  /** Keys re-enqueued on every resync: normally the primary informer's `keys()`. */
  resyncKeys?: () => Iterable<string>;
  /** How often to resync (default 10 minutes); 0 disables it. */
  resyncPeriodMs?: number;
  /** How long `stop()` waits for in-flight reconciles (default 30 s, controller-runtime's). */
  stopTimeoutMs?: number;
}

export const DEFAULT_RESYNC_PERIOD_MS = 10 * 60_000;

export class Controller {
  readonly name: string;
  readonly queue: WorkQueue;
  private readonly options: ControllerOptions;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly metrics: ControllerMetrics | undefined;
  private readonly concurrency: number;
  private readonly abort = new AbortController();
  private workers: Promise<void>[] = [];
  private resyncTimer: TimerHandle | undefined;
  private stopping: Promise<boolean> | undefined;

  constructor(options: ControllerOptions) {
    this.options = options;
    this.name = options.name;
    this.log = options.logger.child({ controller: options.name });
    this.clock = options.clock ?? systemClock;
    this.concurrency = options.maxConcurrentReconciles ?? 1;
    if (!Number.isInteger(this.concurrency) || this.concurrency < 1) {
      throw new Error(
        `controller ${this.name}: maxConcurrentReconciles must be a positive integer`,
      );
    }
    this.queue = new WorkQueue({
      name: options.name,
      clock: this.clock,
      rateLimiter: options.rateLimiter,
      maxLength: options.maxQueueLength,
      registry: options.registry,
    });
    this.metrics =
      options.registry && controllerMetrics(options.registry, options.name, this.concurrency);
  }

  /** Starts the workers and the resync timer. Start informers (and wait for sync) first. */
  start(): void {
    if (this.workers.length > 0 || this.stopping) return;
    this.log.info({ workers: this.concurrency }, 'controller starting');
    this.workers = Array.from({ length: this.concurrency }, () => this.work());
    this.scheduleResync();
  }

  /**
   * Stops taking work (queued keys are dropped: the next leader relists them) and waits up to
   * `stopTimeoutMs` for reconciles in flight. Resolves true if they all finished in time; otherwise
   * aborts their signal and resolves false.
   */
  stop(): Promise<boolean> {
    this.stopping ??= this.shutDown();
    return this.stopping;
  }

  private async shutDown(): Promise<boolean> {
    this.resyncTimer?.cancel();
    this.queue.shutDown();
    const timeoutMs = this.options.stopTimeoutMs ?? 30_000;
    const finished = await withTimeout(
      this.clock,
      Promise.all(this.workers),
      timeoutMs,
      'waiting for reconciles',
    ).then(
      () => true,
      () => false,
    );
    if (finished) {
      this.log.info('controller stopped');
    } else {
      this.log.warn({ timeoutMs }, 'controller stopped with reconciles still running');
      this.abort.abort();
    }
    return finished;
  }

  private async work(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      try {
        await this.reconcileOne(key);
      } finally {
        this.queue.done(key);
      }
    }
  }

  private async reconcileOne(key: string): Promise<void> {
    const startedAt = this.clock.now();
    this.metrics?.workerBusy();
    let outcome: ReconcileOutcome;
    let failure: unknown;
    try {
      const result = (await this.options.reconcile(key, this.abort.signal)) ?? {};
      outcome = this.requeue(key, result);
    } catch (error) {
      failure = error;
      outcome = 'error';
      this.queue.addRateLimited(key);
    }
    const durationMs = this.clock.now() - startedAt;
    this.metrics?.workerIdle();
    this.metrics?.reconciled(outcome, durationMs / 1000);
    if (outcome === 'error') {
      this.log.error(
        { key, durationMs, err: failure, retries: this.queue.numRequeues(key) },
        'reconcile failed; retrying with backoff',
      );
    } else {
      this.log.debug({ key, durationMs, result: outcome }, 'reconciled');
    }
  }

  /** Applies a successful result to the queue; returns its metric label. */
  private requeue(key: string, result: ReconcileResult): ReconcileOutcome {
    if (result.requeueAfterMs !== undefined && result.requeueAfterMs > 0) {
      this.queue.forget(key);
      this.queue.addAfter(key, result.requeueAfterMs);
      return 'requeue_after';
    }
    if (result.requeue) {
      this.queue.addRateLimited(key);
      return 'requeue';
    }
    this.queue.forget(key);
    return 'success';
  }

  private scheduleResync(): void {
    const periodMs = this.options.resyncPeriodMs ?? DEFAULT_RESYNC_PERIOD_MS;
    const keysOf = this.options.resyncKeys;
    if (keysOf === undefined || periodMs <= 0) return;
    this.resyncTimer = this.clock.setTimeout(() => {
      let keys = 0;
      for (const key of keysOf()) {
        this.queue.add(key);
        keys++;
      }
      this.log.debug({ keys }, 'resync');
      this.scheduleResync();
    }, periodMs);
  }
}
