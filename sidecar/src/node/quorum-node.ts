/**
 * One quorumstore node: wires configuration, storage, the peer mesh, the client API and metrics
 * together, and owns the order of start-up and shutdown.
 *
 * Start-up: storage → data dir → peer mesh → metrics → client API (ready only once storage
 * answers and the mesh reaches a majority of the known nodes).
 * Shutdown: stop accepting client requests and let in-flight ones finish → close the mesh →
 * close storage; all within SHUTDOWN_TIMEOUT.
 */
import { access, constants, mkdir } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { NodeConfig } from '../config/node-config.js';
import { createApiApp, type HealthReport, type NodeStatusEntry } from '../http/app.js';
import { PeerMesh } from '../mesh/peer-mesh.js';
import { createResolver } from '../mesh/resolver.js';
import type { PeerState } from '../mesh/liveness.js';
import { createRegistry, metricsHandler } from '../observability/metrics.js';
import { instrumentStore, openStore, type ObjectStore } from '../storage/index.js';
import { DrainableServer } from './http-server.js';
import { SOFTWARE_VERSION } from './software-version.js';
import { ClusterMetadata } from '../schema/cluster-metadata.js';
import { schemaRouter } from '../schema/schema-routes.js';
import type { MetadataStateMachine } from '../metadata/index.js';
import { DataPlane, SHARD_STATS_RPC, type ShardStat } from '../data/data-plane.js';
import { placedShards } from '../data/targets.js';
import { AntiEntropy } from '../antientropy/driver/anti-entropy.js';
import { CoalescingStore } from '../storage/coalescing-store.js';

const STATUS_OF: Record<PeerState, NodeStatusEntry['status']> = {
  alive: 'HEALTHY',
  suspect: 'UNHEALTHY',
  dead: 'UNAVAILABLE',
};

export class QuorumNode {
  private stopping: Promise<boolean> | null = null;

  private constructor(
    readonly config: NodeConfig,
    private readonly log: Logger,
    readonly registry: Registry,
    readonly store: ObjectStore,
    readonly mesh: PeerMesh,
    readonly metadata: ClusterMetadata,
    readonly data: DataPlane,
    readonly antiEntropy: AntiEntropy,
    private readonly api: DrainableServer,
    private readonly metricsServer: DrainableServer,
  ) {}

  /**
   * @param onFatal called when the node can no longer keep its promises (e.g. the Raft log
   *   cannot be written); the process should exit.
   */
  static async start(
    config: NodeConfig,
    log: Logger,
    onFatal: (error: Error) => void,
  ): Promise<QuorumNode> {
    // Whatever started before a failure is closed again, so a failed start leaves nothing
    // listening and the process can exit.
    const undo: (() => Promise<unknown>)[] = [];
    try {
      const registry = createRegistry();
      const store = instrumentStore(await openStore(config.storage), registry);
      undo.push(() => store.close());
      await prepareDataDir(config.dataDir);
      const mesh = new PeerMesh({
        identity: {
          clusterId: config.clusterId,
          nodeName: config.nodeName,
          secret: config.clusterSecret,
          ...(config.previousClusterSecret !== null && {
            previousSecret: config.previousClusterSecret,
          }),
          peerPort: config.ports.peer,
          softwareVersion: SOFTWARE_VERSION,
        },
        bindAddress: config.bindAddress,
        discovery: {
          fqdnTld: config.discovery.fqdnTld,
          seeds: config.discovery.seeds,
          names: config.raft.join,
        },
        resolve: createResolver(config.discovery.dnsServers),
        settings: config.peer,
        logger: log,
        registry,
      });
      undo.push(() => mesh.close());
      await mesh.start();
      const metadata = new ClusterMetadata({
        nodeName: config.nodeName,
        dataDir: config.dataDir,
        join: config.raft.join,
        bootstrapExpect: config.raft.bootstrapExpect,
        timing: {
          tickMs: config.raft.tickMs,
          electionTicks: config.raft.electionTicks,
          heartbeatTicks: config.raft.heartbeatTicks,
        },
        snapshotEntries: config.raft.snapshotEntries,
        requestTimeoutMs: config.schema.timeoutMs,
        retrievalStrategy: config.schema.retrievalStrategy,
        // A quarter of the smaller peer limit leaves room for framing and other traffic.
        raftMessageBytes: Math.min(
          4 * 1024 * 1024,
          Math.floor(Math.min(config.peer.maxFrameBytes, config.peer.maxQueuedBytes) / 4),
        ),
        mesh,
        logger: log,
        registry,
        onFatal,
      });
      await metadata.start();
      undo.push(() => metadata.stop());
      // Every store user goes through anti-entropy's tracking store: it keeps the trees exact.
      const antiEntropy = new AntiEntropy({
        nodeName: config.nodeName,
        // Concurrent requests' storage calls on one shard become one Redis call (group commit).
        store: new CoalescingStore(store),
        metadata: () => metadata.machine,
        env: config.asyncReplication,
        registry,
        logger: log,
      });
      const data = new DataPlane({
        nodeName: config.nodeName,
        settings: config.replication,
        store: antiEntropy.store,
        mesh,
        metadata,
        registry,
        logger: log,
        syncStatus: (key) => antiEntropy.status(key),
      });
      undo.push(async () => data.stop());
      antiEntropy.start(mesh, data.client, data.clock);
      undo.push(async () => antiEntropy.stop());
      const metricsServer = new DrainableServer(metricsHandler(registry));
      await metricsServer.listen(config.ports.metrics, config.bindAddress);
      undo.push(() => metricsServer.drain(Date.now()));
      // The node object exists before the API listens so routes can call into it.
      const holder: { node?: QuorumNode } = {};
      const app = createApiApp(
        {
          meta: () => holder.node!.meta(),
          health: () => holder.node!.health(),
          nodes: (verbose) => holder.node!.nodes(verbose),
        },
        { maxBodyBytes: config.httpMaxBodyBytes, logger: log, apiKeys: config.apiKeys },
        [schemaRouter(metadata), data.router],
      );
      const api = new DrainableServer(app);
      holder.node = new QuorumNode(
        config,
        log,
        registry,
        store,
        mesh,
        metadata,
        data,
        antiEntropy,
        api,
        metricsServer,
      );
      await api.listen(config.ports.http, config.bindAddress);
      log.info(
        {
          http: config.ports.http,
          peer: config.ports.peer,
          metrics: config.ports.metrics,
          store: store.kind,
        },
        'node started',
      );
      return holder.node;
    } catch (error) {
      for (const step of undo.reverse()) await step().catch(() => {});
      throw error;
    }
  }

  meta(): Record<string, unknown> {
    return {
      hostname: `http://${this.config.bindAddress}:${this.config.ports.http}`,
      version: SOFTWARE_VERSION,
      modules: {},
      nodeName: this.config.nodeName,
      clusterId: this.config.clusterId,
    };
  }

  /**
   * Ready = storage answers, this node plus the peers it hears from are a majority of the Raft
   * voters (of RAFT_JOIN until Raft runs here), a Raft leader is known and this node has applied
   * everything it knows to be committed.
   */
  async health(): Promise<HealthReport> {
    const storage = await this.store.ping().then(
      () => ({ ok: true, detail: `${this.store.kind} reachable` }),
      (error: Error) => ({ ok: false, detail: error.message }),
    );
    const voters = this.metadata.voters();
    const members = new Set(
      voters.length > 0 ? voters : [...this.config.raft.join, this.config.nodeName],
    );
    const alive = this.mesh
      .view()
      .filter((peer) => members.has(peer.name) && peer.state === 'alive').length;
    const reachable = alive + (members.has(this.config.nodeName) ? 1 : 0); // a learner is no voter
    const majority = Math.floor(members.size / 2) + 1;
    const mesh = {
      ok: this.stopping === null && reachable >= majority,
      detail: `${reachable} of ${members.size} nodes reachable, ${majority} needed`,
    };
    const raft = this.metadata.readiness();
    return { ready: storage.ok && mesh.ok && raft.ok, checks: { storage, mesh, raft } };
  }

  /** Every node as this node sees it; verbose adds the shards each node holds replicas of. */
  async nodes(verbose = false): Promise<NodeStatusEntry[]> {
    const selfOk = await this.store.ping().then(
      () => true,
      () => false,
    );
    const self: NodeStatusEntry = {
      name: this.config.nodeName,
      status: selfOk ? 'HEALTHY' : 'UNHEALTHY',
      version: SOFTWARE_VERSION,
    };
    const peers = this.mesh.view().map((peer) => ({
      name: peer.name,
      status: STATUS_OF[peer.state],
      version: peer.softwareVersion ?? '',
    }));
    const all = [self, ...peers].sort((a, b) => (a.name < b.name ? -1 : 1));
    if (!verbose) return all;
    // Each node counts its own replicas; an unreachable node shows its shards without counts.
    const held = shardsByNode(this.metadata.machine);
    return Promise.all(
      all.map(async (node) => {
        const counted = await this.shardStatsOf(node.name).catch(() => null);
        const shards = (held.get(node.name) ?? []).map((shard) => ({
          ...shard,
          ...counted?.find((s) => s.class === shard.class && s.name === shard.name),
        }));
        const objectCount = counted?.reduce((sum, s) => sum + s.objectCount, 0);
        return {
          ...node,
          ...(objectCount !== undefined
            ? { stats: { shardCount: shards.length, objectCount } }
            : {}),
          shards,
        };
      }),
    );
  }

  private async shardStatsOf(node: string): Promise<ShardStat[]> {
    if (node === this.config.nodeName) return this.data.shardStats();
    return (await this.mesh.call(node, SHARD_STATS_RPC, {}, { timeoutMs: 2000 })) as ShardStat[];
  }

  /** Graceful shutdown; resolves true if everything closed before the deadline. Idempotent. */
  stop(): Promise<boolean> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<boolean> {
    const deadline = Date.now() + this.config.shutdownTimeoutMs;
    this.log.info({ timeoutMs: this.config.shutdownTimeoutMs }, 'shutting down');
    const drained = await this.api.drain(deadline);
    if (!drained)
      this.log.warn('in-flight client requests did not finish before the shutdown deadline');
    // Before the mesh closes: a leader hands leadership over so no election timeout is waited.
    await this.metadata.stop();
    this.antiEntropy.stop();
    this.data.stop();
    await this.mesh.close();
    await this.metricsServer.drain(deadline);
    await this.store.close();
    this.log.info({ drained }, 'node stopped');
    return drained;
  }
}

/** Which shards (of which class) each node holds a replica of, from the metadata. */
function shardsByNode(sm: MetadataStateMachine): Map<string, { class: string; name: string }[]> {
  const held = new Map<string, { class: string; name: string }[]>();
  for (const { definition, shard, replicas } of placedShards(sm)) {
    for (const node of replicas) {
      held.set(node, [...(held.get(node) ?? []), { class: definition.class, name: shard }]);
    }
  }
  return held;
}

async function prepareDataDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
    await access(dir, constants.W_OK);
  } catch (error) {
    throw new Error(`DATA_DIR: ${dir} is not a writable directory (${(error as Error).message})`, {
      cause: error,
    });
  }
}
