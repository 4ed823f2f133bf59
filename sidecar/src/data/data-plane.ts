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
import { placedShards } from './targets.js';

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
    const held = placedShards(this.options.metadata.machine).filter((s) =>
      s.replicas.includes(this.options.nodeName),
    );
    return Promise.all(
      held.map(async ({ definition, shard, storageKey }) => {
        const count = await this.options.store.count(storageKey);
        return {
          ...this.options.syncStatus?.(storageKey),
          class: definition.class,
          name: shard,
          objectCount: count.live,
          tombstoneCount: count.tombstones,
          replicationFactor: definition.replicationConfig.factor,
        };
      }),
    );
  }

  stop(): void {
    this.replica.stop();
  }
}
