/**
 * Anti-entropy on a node, wired: the tree registry over the raw store, the tracking store every
 * other component writes through, the peer responder and the scheduler. Which shard replicas
 * exist, their replicas and their settings come from the applied metadata each time they are
 * needed, so collection changes (asyncConfig, deletion strategy, tenants) apply without a restart.
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { PeerMesh } from '../../mesh/peer-mesh.js';
import type { MetadataStateMachine } from '../../metadata/state-machine.js';
import type { HybridClock } from '../../replication/hlc.js';
import type { ObjectStore, ShardKey } from '../../storage/object-store.js';
import type { ReplicaClient } from '../../data/replica-client.js';
import { placedShards } from '../../data/targets.js';
import {
  resolveAsyncReplication,
  type AsyncReplicationEnv,
  type AsyncReplicationSettings,
} from '../async-config.js';
import { AntiEntropyMetrics } from './ae-metrics.js';
import { PeerResponder } from './peer-responder.js';
import { AntiEntropyScheduler, type LocalShard, type TargetStatus } from './scheduler.js';
import { TrackingStore } from './tracking-store.js';
import { TreeRegistry } from './tree-registry.js';

export interface AntiEntropyOptions {
  readonly nodeName: string;
  readonly store: ObjectStore;
  readonly metadata: () => MetadataStateMachine;
  readonly env: AsyncReplicationEnv;
  readonly registry: Registry;
  readonly logger: Logger;
}

/** What `/v1/nodes?output=verbose` shows of one shard replica's anti-entropy. */
export interface ShardSyncStatus {
  readonly treeHeight: number | null;
  readonly treeReady: boolean;
  readonly rootDigest: string | null;
  readonly asyncReplicationStatus: TargetStatus[];
}

export class AntiEntropy {
  readonly metrics: AntiEntropyMetrics;
  readonly trees: TreeRegistry;
  /** The store every other component must use: it keeps the trees exact. */
  readonly store: TrackingStore;
  private readonly responder: PeerResponder;
  private scheduler: AntiEntropyScheduler | null = null;
  private cached: { readonly version: number; readonly shards: LocalShard[] } | null = null;

  constructor(private readonly options: AntiEntropyOptions) {
    this.metrics = new AntiEntropyMetrics(options.registry);
    this.trees = new TreeRegistry(options.store, (key) => this.heightOf(key), {
      buildConcurrency: options.env.node.hashtreeInitConcurrency,
      logger: options.logger.child({ component: 'antientropy' }),
      metrics: this.metrics,
    });
    this.store = new TrackingStore(options.store, this.trees);
    this.responder = new PeerResponder(this.trees, this.store);
    options.store.onReplaced((detail) => {
      options.logger.warn({ detail }, 'store replaced: rebuilding every hash tree');
      this.trees.resetAll('store_replaced');
    });
  }

  /** Serves peers and starts synchronizing (needs the data plane's client for pushes). */
  start(mesh: PeerMesh, client: ReplicaClient, clock: HybridClock): void {
    this.responder.register(mesh);
    this.scheduler = new AntiEntropyScheduler({
      nodeName: this.options.nodeName,
      mesh,
      client,
      store: this.store,
      registry: this.trees,
      responder: this.responder,
      clock,
      metrics: this.metrics,
      logger: this.options.logger,
      shards: () => this.localShards(),
      workers: this.options.env.node.schedulerWorkers,
      rootsBatchSize: this.options.env.node.rootPrefilterBatchSize,
      graceMs: this.options.env.node.tombstoneGracePeriodMs,
    });
    this.scheduler.start();
  }

  stop(): void {
    this.scheduler?.stop();
    this.trees.stop();
  }

  status(key: ShardKey): ShardSyncStatus {
    const tree = this.trees.get(key);
    const ready = tree?.maintainer.state === 'ready';
    return {
      treeHeight: tree?.maintainer.tree.height ?? null,
      treeReady: ready,
      rootDigest: ready ? Buffer.from(tree!.maintainer.tree.root()).toString('hex') : null,
      asyncReplicationStatus: this.scheduler?.status(key) ?? [],
    };
  }

  /**
   * Every shard replica this node holds (tenants only while ACTIVE), with its settings now.
   * Read on every scheduler tick, so it is recomputed only when the metadata changed.
   */
  localShards(): LocalShard[] {
    const sm = this.options.metadata();
    if (this.cached?.version === sm.version) return this.cached.shards;
    const settings = new Map<string, AsyncReplicationSettings>();
    const shards = placedShards(sm)
      .filter(
        (p) =>
          p.replicas.includes(this.options.nodeName) &&
          (p.tenantStatus === undefined || p.tenantStatus === 'ACTIVE'),
      )
      .map((p): LocalShard => {
        let resolved = settings.get(p.definition.class);
        if (!resolved) {
          resolved = resolveAsyncReplication(p.definition, this.options.env);
          settings.set(p.definition.class, resolved);
        }
        return {
          key: p.storageKey,
          schema: p.schema,
          shard: p.shard,
          replicas: p.replicas,
          strategy: p.definition.replicationConfig.deletionStrategy,
          settings: resolved,
        };
      });
    this.cached = { version: sm.version, shards };
    return shards;
  }

  /** A tree only for a shard replica this node holds, with async replication enabled. */
  private heightOf(key: ShardKey): number | null {
    const shard = this.localShards().find((s) => s.key === key);
    return shard?.settings.enabled ? shard.settings.config.hashtreeHeight : null;
  }
}
