/**
 * A self-healing informer: a cache of one kind of object kept current by list + watch, firing
 * add/update/delete events. It wraps @kubernetes/client-node's ListWatch and fixes what that leaves
 * to the caller:
 *
 * - ListWatch stops for good on any error other than 410 Gone or its own inactivity timeout (a
 *   failed list, a refused or broken watch). We restart it with jittered exponential backoff, one
 *   restart in flight at a time; it resumes from the last resourceVersion (a 410 then relists).
 * - `start()` resolves even when the list failed, so "started" is not "synced": we track sync.
 * - `update` callbacks get only the new object; we keep a reference to the previous one so
 *   predicates can compare generations.
 * - `stop()` aborts the watch and ListWatch reports the abort as an error; we ignore it.
 * - A throwing callback would become an unhandled rejection inside ListWatch; handlers are guarded.
 *
 * Not needed in client-node 2.0.x: a stall watchdog. Its Watch aborts after 30 s without data
 * (TimeoutError) and ListWatch reconnects from the last resourceVersion by itself (1.x could hang
 * on a half-open connection forever).
 *
 * Objects handed out are the cache's own instances: never mutate them (structuredClone first).
 */
import * as k8s from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { Backoff, type BackoffOptions } from './backoff.js';
import { systemClock, type Clock, type TimerHandle } from './clock.js';
import { objectKey, parseKey } from './keys.js';

export type InformerEvent<T extends k8s.KubernetesObject> =
  | { type: 'add'; object: T; previous?: undefined }
  | { type: 'update'; object: T; previous: T | undefined }
  | { type: 'delete'; object: T; previous?: undefined };

/** What the informer drives: ListWatch in production, a fake in unit tests. */
export type InformerSource<T extends k8s.KubernetesObject> = k8s.Informer<T> & k8s.ObjectCache<T>;

export interface InformerOptions<T extends k8s.KubernetesObject> {
  /** Names the informer in logs, e.g. "clusters". */
  name: string;
  kubeConfig: k8s.KubeConfig;
  /** Watch path, e.g. `/apis/quorumstore.dev/v1alpha1/clusters` or `/apis/apps/v1/statefulsets`. */
  path: string;
  /** Lists every object at `path` (no paging: ListWatch needs the whole list). */
  list: k8s.ListPromise<T>;
  labelSelector?: string;
  fieldSelector?: string;
  logger: Logger;
  clock?: Clock;
  /** Restart delays after errors; default client-go's reflector: 800 ms doubling to 30 s, ×(1..2). */
  restartBackoff?: BackoffOptions;
  /** A run that stayed up this long resets the backoff (client-go: 2 min). */
  healthyAfterMs?: number;
  /** Replaces the ListWatch (tests). */
  source?: InformerSource<T>;
}

export class Informer<T extends k8s.KubernetesObject> {
  readonly name: string;
  private readonly source: InformerSource<T>;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly backoff: Backoff;
  private readonly healthyAfterMs: number;
  private readonly handlers: ((event: InformerEvent<T>) => void)[] = [];
  /** The last version seen of each object (references into the cache, no copies). */
  private readonly previous = new Map<string, T>();
  private running = false;
  private synced = false;
  private readonly syncWaiters: (() => void)[] = [];
  private runStartedAt = 0;
  private runFailed = false;
  private restartTimer: TimerHandle | undefined;

  constructor(options: InformerOptions<T>) {
    this.name = options.name;
    this.log = options.logger.child({ informer: options.name });
    this.clock = options.clock ?? systemClock;
    this.backoff = new Backoff(options.restartBackoff ?? { baseMs: 800, maxMs: 30_000, jitter: 1 });
    this.healthyAfterMs = options.healthyAfterMs ?? 120_000;
    this.source =
      options.source ??
      new k8s.ListWatch<T>(
        options.path,
        new k8s.Watch(options.kubeConfig),
        options.list,
        false,
        options.labelSelector,
        options.fieldSelector,
      );
    this.source.on(k8s.ADD, (object) => this.emit({ type: 'add', object }));
    this.source.on(k8s.UPDATE, (object) =>
      this.emit({ type: 'update', object, previous: undefined }),
    );
    this.source.on(k8s.DELETE, (object) => this.emit({ type: 'delete', object }));
    this.source.on(k8s.ERROR, (error) => this.onError(error));
  }

  /** Registers a handler; it must be quick and synchronous (compute keys, enqueue, return). */
  onEvent(handler: (event: InformerEvent<T>) => void): void {
    this.handlers.push(handler);
  }

  /** Starts listing and watching, for good: errors are retried, never thrown. */
  start(): void {
    if (this.running) return;
    this.running = true;
    void this.run();
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.restartTimer?.cancel();
    this.restartTimer = undefined;
    await this.source.stop();
  }

  /** True once a full list has been loaded into the cache (stays true across restarts). */
  hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves true once synced, or false if `signal` aborts first. */
  waitForSync(signal?: AbortSignal): Promise<boolean> {
    if (this.synced) return Promise.resolve(true);
    return new Promise((resolve) => {
      const onAbort = (): void => resolve(false);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.syncWaiters.push(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve(true);
      });
    });
  }

  /** Cached objects, of one namespace or all. */
  list(namespace?: string): readonly T[] {
    return this.source.list(namespace);
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.source.get(name, namespace);
  }

  getByKey(key: string): T | undefined {
    const { namespace, name } = parseKey(key);
    return this.get(namespace, name);
  }

  /** Queue keys of every cached object (for periodic resync). */
  keys(): string[] {
    return this.list().flatMap((object) => objectKey(object) ?? []);
  }

  private async run(): Promise<void> {
    this.runStartedAt = this.clock.now();
    this.runFailed = false;
    try {
      // Resolves once listed and the watch is connected, or right after a failure was reported.
      await this.source.start();
    } catch (error) {
      // Raised before ListWatch's own handling (e.g. credentials could not be loaded).
      this.onError(error);
      return;
    }
    if (!this.running || this.runFailed) return;
    if (!this.synced) {
      this.synced = true;
      this.log.info({ objects: this.list().length }, 'informer synced');
      for (const wake of this.syncWaiters.splice(0)) wake();
    }
  }

  private onError(error: unknown): void {
    // stop() aborts the watch; ListWatch reports that abort as an error.
    if (!this.running) return;
    this.runFailed = true;
    if (this.restartTimer !== undefined) return;
    if (this.clock.now() - this.runStartedAt >= this.healthyAfterMs) this.backoff.reset();
    const delayMs = Math.round(this.backoff.next());
    this.log.warn(
      { err: error, delayMs, attempt: this.backoff.attempts },
      'informer list/watch failed; restarting',
    );
    this.restartTimer = this.clock.setTimeout(() => {
      this.restartTimer = undefined;
      if (this.running) void this.run();
    }, delayMs);
  }

  private emit(event: InformerEvent<T>): void {
    const key = objectKey(event.object);
    if (key !== undefined) {
      if (event.type === 'update') event.previous = this.previous.get(key);
      if (event.type === 'delete') this.previous.delete(key);
      else this.previous.set(key, event.object);
    }
    for (const handler of this.handlers) {
      try {
        handler(event);
      } catch (error) {
        this.log.error({ err: error, event: event.type, key }, 'informer event handler threw');
      }
    }
  }
}

/** Waits until every informer has synced; false if `signal` aborted first. */
export async function waitForCacheSync(
  informers: readonly { waitForSync(signal?: AbortSignal): Promise<boolean> }[],
  signal?: AbortSignal,
): Promise<boolean> {
  const results = await Promise.all(informers.map((informer) => informer.waitForSync(signal)));
  return results.every(Boolean);
}
