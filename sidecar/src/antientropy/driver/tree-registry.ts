/**
 * The hash trees of this node's shard replicas, kept exact: one TreeMaintainer per storage key,
 * created the first time the key is touched (a write, a sync, a peer's request) and built by
 * scanning the store in the background (bounded concurrency) while writes keep arriving.
 *
 * Exactness rests on one rule (tree-build.ts): every write the store applies to the shard after
 * the maintainer exists is bracketed by `beginWrite`/`endWrite` with its exact previous and next
 * digests. The TrackingStore does the bracketing. A write whose outcome is unknown (the store
 * call failed) breaks the rule, so the tree is dropped and rebuilt; so is a build that overflows
 * its bounds. A rebuild waits for writes already in flight on the shard (they hold tickets of the
 * dropped tree) to finish before scanning, so the scan sees their effects.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Digest, ObjectStore, ShardKey } from '../../storage/object-store.js';
import { treeKeyOf } from '../entry-hash.js';
import { TreeBuildOverflowError, TreeMaintainer } from '../tree-build.js';
import type { AntiEntropyMetrics } from './ae-metrics.js';

const SCAN_PAGE = 1000;
/** A failed build is retried after this long (the store may be down). */
const REBUILD_DELAY_MS = 1000;

export interface ShardTree {
  readonly key: ShardKey;
  readonly maintainer: TreeMaintainer;
  /** Called for every change the tree takes (tombstone GC bookkeeping). */
  onChange: ((next: Digest | null, treeKey: number) => void) | null;
}

export class TreeRegistry {
  /**
   * Changes whenever this node may have lost writes — a restart of the process or of its store —
   * so peers void the tombstone confirmations it gave before (tombstone GC relies on it).
   */
  get incarnation(): string {
    return this.currentIncarnation;
  }
  private currentIncarnation = randomUUID();
  private readonly trees = new Map<ShardKey, ShardTree>();
  private readonly inFlight = new Map<ShardKey, number>();
  private readonly drained = new Map<ShardKey, (() => void)[]>();
  private readonly buildQueue: (() => Promise<void>)[] = [];
  private buildsRunning = 0;
  private stopped = false;
  /**
   * Called synchronously when a tree is created, before its build reads anything: whoever keeps
   * per-tree books (tombstone GC) attaches `onChange` here so no entry escapes it.
   */
  onTreeCreated: ((tree: ShardTree) => void) | null = null;

  constructor(
    private readonly store: ObjectStore,
    /** The tree height for a shard replica's key, or null if it should have no tree. */
    private readonly heightOf: (key: ShardKey) => number | null,
    private readonly options: {
      readonly buildConcurrency: number;
      readonly logger: Logger;
      readonly metrics: AntiEntropyMetrics;
    },
  ) {}

  get(key: ShardKey): ShardTree | undefined {
    return this.trees.get(key);
  }

  keys(): ShardKey[] {
    return [...this.trees.keys()];
  }

  /** The tree of `key`, created (and its build started) if needed; null if it has none. */
  ensure(key: ShardKey): ShardTree | null {
    const existing = this.trees.get(key);
    if (existing) return existing;
    if (this.stopped) return null;
    const height = this.heightOf(key);
    if (height === null) return null;
    const tree: ShardTree = { key, maintainer: new TreeMaintainer(height), onChange: null };
    this.trees.set(key, tree);
    this.onTreeCreated?.(tree);
    this.schedule(() => this.build(tree));
    return tree;
  }

  /** Drops a tree (its shard is gone, or its tree can no longer be trusted). */
  drop(key: ShardKey, reason: string): void {
    if (!this.trees.delete(key)) return;
    this.options.metrics.treeRebuilds.inc({ reason });
    this.options.logger.info({ shard: key, reason }, 'anti-entropy tree dropped');
  }

  /**
   * The store was replaced under us and may have lost writes: no tree describes it any more.
   * Every tree is dropped (each rebuilds from a fresh scan when next touched) and the
   * incarnation changes, so confirmations given from the old contents count for nothing.
   */
  resetAll(reason: string): void {
    this.currentIncarnation = randomUUID();
    for (const key of [...this.trees.keys()]) this.drop(key, reason);
  }

  /** Brackets a store call on `key`: counts it in flight so a rebuild can wait for it. */
  async track<T>(key: ShardKey, run: () => Promise<T>): Promise<T> {
    this.inFlight.set(key, (this.inFlight.get(key) ?? 0) + 1);
    try {
      return await run();
    } finally {
      const left = (this.inFlight.get(key) ?? 1) - 1;
      if (left > 0) this.inFlight.set(key, left);
      else {
        this.inFlight.delete(key);
        for (const resolve of this.drained.get(key) ?? []) resolve();
        this.drained.delete(key);
      }
    }
  }

  stop(): void {
    this.stopped = true;
    this.trees.clear();
    this.buildQueue.length = 0;
  }

  private schedule(job: () => Promise<void>): void {
    this.buildQueue.push(job);
    this.pump();
  }

  private pump(): void {
    while (this.buildsRunning < this.options.buildConcurrency && this.buildQueue.length > 0) {
      const job = this.buildQueue.shift()!;
      this.buildsRunning++;
      void job().finally(() => {
        this.buildsRunning--;
        this.pump();
      });
    }
  }

  private async waitForDrain(key: ShardKey): Promise<void> {
    if (!this.inFlight.has(key)) return;
    await new Promise<void>((resolve) => {
      const waiters = this.drained.get(key) ?? [];
      waiters.push(resolve);
      this.drained.set(key, waiters);
    });
  }

  /** Scans the shard into the tree; on failure drops the tree (the next touch rebuilds it). */
  private async build(tree: ShardTree): Promise<void> {
    const started = process.hrtime.bigint();
    try {
      // Dropped while queued (e.g. a store reset): free the build slot at once.
      if (this.trees.get(tree.key) !== tree) return;
      // Writes that began before this tree existed carry no ticket: let them land first.
      await this.waitForDrain(tree.key);
      let after: string | undefined;
      for (;;) {
        if (this.trees.get(tree.key) !== tree) return; // dropped meanwhile
        const page = await this.store.scanDigests(tree.key, {
          limit: SCAN_PAGE,
          ...(after !== undefined ? { after } : {}),
        });
        tree.maintainer.applyScanPage(page.items, page.nextAfter);
        for (const item of page.items) tree.onChange?.(item, treeKeyOf(item.id));
        if (page.nextAfter === undefined) break;
        after = page.nextAfter;
      }
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      this.options.metrics.treeInitDuration.observe(seconds);
      this.options.logger.info(
        {
          shard: tree.key,
          seconds: Number(seconds.toFixed(3)),
          height: tree.maintainer.tree.height,
        },
        'anti-entropy tree built',
      );
    } catch (error) {
      const reason = error instanceof TreeBuildOverflowError ? 'build_overflow' : 'build_failed';
      this.options.logger.warn(
        { shard: tree.key, err: (error as Error).message },
        'tree build failed',
      );
      if (this.trees.get(tree.key) === tree) {
        this.drop(tree.key, reason);
        await new Promise((resolve) => setTimeout(resolve, REBUILD_DELAY_MS).unref());
      }
    }
  }
}
