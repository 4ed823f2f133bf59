/**
 * The node's data plane, wired: one hybrid clock, the replica service (serving peers and this
 * node's own coordinator), the client to reach replicas, the object use cases and their routes.
 */
import type { Router } from 'express';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { ReplicationSettings } from '../config/node-config.js';
import type { PeerMesh } from '../mesh/peer-mesh.js';
import { HybridClock } from '../replication/hlc.js';
import { StagingArea, DEFAULT_STAGING_LIMITS } from '../replication/staging.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { ClusterMetadata } from '../schema/cluster-metadata.js';
import { objectRouter } from './object-routes.js';
import { ObjectService } from './object-service.js';
import { ReplicaClient } from './replica-client.js';
import { ReplicaService } from './replica-service.js';
import { ReplicationMetrics } from './replication-metrics.js';
import { storageKey } from './targets.js';

export interface DataPlaneOptions {
  readonly nodeName: string;
  readonly settings: ReplicationSettings;
  readonly store: ObjectStore;
  readonly mesh: PeerMesh;
  readonly metadata: ClusterMetadata;
  readonly registry: Registry;
  readonly logger: Logger;
  readonly now?: () => number;
  /** Anti-entropy's view of a shard replica, shown with its counts. */
  readonly syncStatus?: (key: string) => object;
}

export interface ShardStat {
  readonly class: string;
  readonly name: string;
  readonly objectCount: number;
  readonly tombstoneCount: number;
  readonly replicationFactor: number;
}

export type ShardStatWithSync = ShardStat & Record<string, unknown>;

export const SHARD_STATS_RPC = 'data.shardStats';

export class DataPlane {
  readonly clock: HybridClock;
  readonly replica: ReplicaService;
  readonly service: ObjectService;
  readonly router: Router;
  readonly metrics: ReplicationMetrics;
  readonly client: ReplicaClient;

  constructor(private readonly options: DataPlaneOptions) {
    const now = options.now ?? Date.now;
    const { settings } = options;
    this.metrics = new ReplicationMetrics(options.registry);
    this.clock = new HybridClock(options.nodeName, now, { maxDriftMs: settings.maxClockDriftMs });
    const schema = {
      get machine() {
        return options.metadata.machine;
      },
      waitForVersion: (version: number, timeoutMs: number) =>
        options.metadata.waitForVersion(version, timeoutMs),
      forRead: () => options.metadata.forRead(),
    };
    this.replica = new ReplicaService({
      nodeName: options.nodeName,
      store: options.store,
      schema,
      clock: this.clock,
      staging: new StagingArea({ ...DEFAULT_STAGING_LIMITS, ttlMs: settings.stagingTtlMs }),
      metrics: this.metrics,
      logger: options.logger,
      // A replica waits for a schema version at most half the coordinator's deadline, so the
      // coordinator still hears why.
      schemaWaitMs: Math.max(1, Math.floor(settings.timeoutMs / 2)),
      now,
    });
    this.replica.register(options.mesh);
    options.mesh.handle(SHARD_STATS_RPC, () => this.shardStats());
    const client = new ReplicaClient(options.nodeName, options.mesh, this.replica, this.clock);
    this.client = client;
    this.service = new ObjectService({
      client,
      clock: this.clock,
      schema,
      metrics: this.metrics,
      logger: options.logger,
      timeoutMs: settings.timeoutMs,
      objectMaxBytes: settings.objectMaxBytes,
      batchMaxObjects: settings.batchMaxObjects,
      now,
    });
    this.router = objectRouter(this.service);
  }

  /**
   * Object counts of every shard replica this node holds (tombstones counted apart), for
   * `/v1/nodes?output=verbose`; served to peers as `data.shardStats`.
   */
  async shardStats(): Promise<ShardStat[]> {
    const sm = this.options.metadata.machine;
    const stats: ShardStat[] = [];
    for (const collection of sm.listCollections()) {
      const info = sm.getCollectionInfo(collection.class);
      if (!info) continue;
      const schema = {
        class: collection.class,
        createdIndex: info.createdIndex,
        version: info.version,
      };
      const shards = collection.multiTenancyConfig.enabled
        ? (sm.getTenants(collection.class) ?? []).map((t) => ({
            name: t.name,
            nodes: sm.getTenantReplicas(collection.class, t.name) ?? [],
          }))
        : info.shardingState.physical.map((p) => ({ name: p.name, nodes: p.belongsToNodes }));
      for (const shard of shards) {
        if (!shard.nodes.includes(this.options.nodeName)) continue;
        const key = storageKey(schema, shard.name);
        const count = await this.options.store.count(key);
        stats.push({
          ...this.options.syncStatus?.(key),
          class: collection.class,
          name: shard.name,
          objectCount: count.live,
          tombstoneCount: count.tombstones,
          replicationFactor: collection.replicationConfig.factor,
        });
      }
    }
    return stats;
  }

  stop(): void {
    this.replica.stop();
  }
}
