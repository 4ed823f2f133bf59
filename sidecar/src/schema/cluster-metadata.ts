/**
 * This node's part in the replicated cluster metadata: brings Raft up (bootstrap, restart or
 * join), executes schema changes through the leader, serves reads by the configured retrieval
 * strategy, and hands leadership over on graceful shutdown.
 *
 * A change is executed by the leader (it validates, decides placement and proposes); any other
 * node forwards the operation to it. Either way the caller is answered only after THIS node has
 * applied the change, so a client reading from the node it wrote through sees its write.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { PeerRemoteError, RpcHandlerError } from '../mesh/errors.js';
import type { PeerMesh } from '../mesh/peer-mesh.js';
import type { ApplyResult, MetadataStateMachine } from '../metadata/index.js';
import { encodeCommand } from '../metadata/index.js';
import { RequestRejectedError, type RaftNodeStatus } from '../raft/core/index.js';
import type { ConfChange } from '../raft/types.js';
import { meshTransport, serveRaftMessages } from '../raft/driver/mesh-transport.js';
import {
  RaftDriver,
  RaftTimeoutError,
  type Committed,
  type RaftTiming,
} from '../raft/driver/raft-driver.js';
import { RaftMetrics } from '../raft/driver/raft-metrics.js';
import { DurableRaftStorage } from '../raft/storage/durable-storage.js';
import {
  appliedNotVisible,
  fromForwarded,
  fromRaftRead,
  fromRaftWrite,
  notApplied,
} from './outcomes.js';
import {
  decideStartup,
  requestJoin,
  serveStartupRpcs,
  type StartupContext,
} from './raft-startup.js';
import { HttpError } from '../http/errors.js';
import { MetadataStore } from './metadata-store.js';
import { buildCommand, isSchemaOperation, type SchemaOperation } from './operations.js';

export type RetrievalStrategy = 'LeaderOnly' | 'LocalOnly' | 'LeaderOnMismatch';

export interface ClusterMetadataOptions {
  readonly nodeName: string;
  readonly dataDir: string;
  readonly join: readonly string[];
  readonly bootstrapExpect: number;
  readonly timing: RaftTiming;
  readonly snapshotEntries: number;
  readonly requestTimeoutMs: number;
  readonly retrievalStrategy: RetrievalStrategy;
  /** Largest Raft message payload (append entries, snapshot chunk) the peer transport carries. */
  readonly raftMessageBytes: number;
  readonly mesh: PeerMesh;
  readonly logger: Logger;
  readonly registry: Registry;
  readonly onFatal: (error: Error) => void;
}

export interface SchemaChangeResult {
  /** The schema version (Raft index) at which the change applied. */
  readonly version: number;
}

const RPC = {
  execute: 'schema.execute',
  leaderVersion: 'schema.leaderVersion',
  statistics: 'cluster.statistics',
  membership: 'cluster.membership',
} as const;
const FORWARD_ATTEMPTS = 3;

export class ClusterMetadata {
  private readonly store = new MetadataStore();
  private readonly log: Logger;
  private readonly metrics: RaftMetrics;
  private storage: DurableRaftStorage | null = null;
  private driver: RaftDriver | null = null;
  private waitingReason = 'starting';
  private stopped = false;
  private startup: Promise<void> | null = null;

  constructor(private readonly options: ClusterMetadataOptions) {
    this.log = options.logger.child({ component: 'metadata' });
    this.metrics = new RaftMetrics(options.registry, () => this.driver?.status() ?? null);
    this.serveRpcs();
  }

  /** Opens the Raft log and brings Raft up in the background (bootstrap may wait for peers). */
  async start(): Promise<void> {
    const { storage, recovery } = await DurableRaftStorage.open(
      join(this.options.dataDir, 'raft'),
      {
        logger: this.log,
      },
    );
    this.storage = storage;
    this.log.info({ recovery }, 'raft log opened');
    this.startup = this.bringUp().catch((error: Error) => {
      if (!this.stopped) this.options.onFatal(error);
    });
  }

  get machine(): MetadataStateMachine {
    return this.store.current;
  }

  status(): RaftNodeStatus | null {
    return this.driver?.status() ?? null;
  }

  /**
   * Resolves once this node has applied schema version `version` (a Raft index another node
   * routed a data request with); rejects after `timeoutMs`, or at once if Raft is not running.
   */
  async waitForVersion(version: number, timeoutMs: number): Promise<void> {
    const driver = this.driver;
    if (!driver) throw new Error(`cluster metadata not available yet: ${this.waitingReason}`);
    await driver.waitApplied(version, timeoutMs);
  }

  /** Why Raft is not running yet, for readiness and errors; null once it runs. */
  get notRunningReason(): string | null {
    return this.driver ? null : this.waitingReason;
  }

  /** Ready = Raft runs, a leader is known, and this node applied everything it knows committed. */
  readiness(): { ok: boolean; detail: string } {
    const s = this.driver?.status();
    if (!s) return { ok: false, detail: `raft not running: ${this.waitingReason}` };
    if (!s.leader) return { ok: false, detail: `no raft leader known (term ${s.term})` };
    if (s.applied < s.commit) return { ok: false, detail: `applying: ${s.applied} of ${s.commit}` };
    return { ok: true, detail: `leader ${s.leader}, term ${s.term}, schema version ${s.applied}` };
  }

  // ---- writes -----------------------------------------------------------------------------------

  /** Executes a schema change through the leader; resolves once applied on this node. */
  execute(operation: SchemaOperation): Promise<SchemaChangeResult> {
    return this.throughLeader(RPC.execute, operation, (deadline) =>
      this.executeAsLeader(operation, deadline),
    );
  }

  /** Adds or removes one member (single-server change); resolves once applied on this node. */
  changeMembership(change: ConfChange): Promise<SchemaChangeResult> {
    return this.throughLeader(RPC.membership, change, (deadline) =>
      this.changeMembershipAsLeader(change, deadline),
    );
  }

  /**
   * Runs `onLeader` here if this node leads, else forwards `payload` to the leader's `method`
   * handler (following a moved leader a few times); then waits until this node has applied the
   * resulting version, so the caller reads its own write wherever it reads next on this node.
   */
  private async throughLeader(
    method: string,
    payload: unknown,
    onLeader: (deadline: number) => Promise<number>,
  ): Promise<SchemaChangeResult> {
    const driver = this.running();
    const deadline = Date.now() + this.options.requestTimeoutMs;
    for (let attempt = 1; ; attempt++) {
      const status = driver.status();
      const leader = status.leader;
      if (!leader) throw notApplied(`no raft leader (term ${status.term})`);
      let version: number;
      if (leader === this.options.nodeName) {
        version = await onLeader(deadline);
      } else {
        try {
          const answer = (await this.options.mesh.call(leader, method, payload, {
            timeoutMs: Math.max(1, deadline - Date.now()),
          })) as { version: number };
          version = answer.version;
        } catch (error) {
          // The leader moved while the call was under way (it refused before proposing): ask the new one.
          const moved = error instanceof PeerRemoteError && error.code === 'not_leader';
          if (moved && attempt < FORWARD_ATTEMPTS) {
            await new Promise((resolve) => setTimeout(resolve, this.options.timing.tickMs));
            continue;
          }
          throw fromForwarded(error, leader);
        }
      }
      // Applied on the leader; this node answers once it has applied it too (read-your-writes
      // here). It gets at least a heartbeat's worth of time even if the leader used the deadline.
      const wait = Math.max(deadline - Date.now(), this.options.timing.tickMs * 5);
      await driver.waitApplied(version, wait).catch(() => {
        throw appliedNotVisible(version);
      });
      return { version };
    }
  }

  private async changeMembershipAsLeader(change: ConfChange, deadline: number): Promise<number> {
    const driver = this.running();
    this.requireQuorum(driver);
    try {
      const committed = await driver.proposeConfChange(change, Math.max(1, deadline - Date.now()));
      this.log.info({ change, conf: committed.result }, 'membership change committed');
      return committed.index;
    } catch (error) {
      if (error instanceof RequestRejectedError && error.reason === 'invalidConfChange') {
        throw new HttpError(422, `invalid membership change: ${error.message}`);
      }
      throw fromRaftWrite(error);
    }
  }

  /**
   * A leader that already knows it cannot reach a quorum refuses at once: nothing gets appended
   * that a later leader could still commit behind the client's back.
   */
  private requireQuorum(driver: RaftDriver): void {
    const voters = driver.status().confState.voters;
    const window = this.options.timing.tickMs * this.options.timing.electionTicks;
    const reachable = voters.filter(
      (v) => v === this.options.nodeName || driver.heardFrom(v, window),
    );
    if (reachable.length < Math.floor(voters.length / 2) + 1) {
      throw notApplied(`the leader hears from only ${reachable.length} of ${voters.length} voters`);
    }
  }

  private async executeAsLeader(operation: SchemaOperation, deadline: number): Promise<number> {
    const driver = this.running();
    this.requireQuorum(driver);
    // Validate against everything committed so far: a new leader may not have applied what its
    // predecessor acknowledged yet. The barrier also waits for its first commit in this term.
    try {
      await driver.readBarrier(Math.max(1, deadline - Date.now()));
    } catch (error) {
      throw error instanceof RaftTimeoutError
        ? notApplied(`the leader could not confirm its state in time`)
        : fromRaftWrite(error);
    }
    const status = driver.status();
    const members = [...status.confState.voters, ...status.confState.learners];
    const built = buildCommand(
      operation,
      this.store.current,
      members,
      `${status.term}/${status.lastIndex}`,
    );
    if ('error' in built) throw new HttpError(built.error.status, built.error.message);
    const early = this.store.current.precheck(built.command);
    if (!early.ok) throw new HttpError(early.status, early.message);
    let committed: Committed<ApplyResult>;
    try {
      committed = await driver.propose<ApplyResult>(
        encodeCommand(built.command),
        Math.max(1, deadline - Date.now()),
      );
    } catch (error) {
      throw fromRaftWrite(error);
    }
    // Applied everywhere with this result: a rejected command changed nothing anywhere.
    if (!committed.result.ok)
      throw new HttpError(committed.result.status, committed.result.message);
    return committed.index;
  }

  // ---- reads ------------------------------------------------------------------------------------

  /** Waits as the retrieval strategy requires, then returns the local state machine to read. */
  async forRead(): Promise<MetadataStateMachine> {
    const driver = this.running();
    const timeoutMs = this.options.requestTimeoutMs;
    try {
      switch (this.options.retrievalStrategy) {
        case 'LocalOnly':
          break;
        case 'LeaderOnly':
          await driver.readBarrier(timeoutMs);
          break;
        case 'LeaderOnMismatch':
          await driver.waitApplied(await this.leaderCommitIndex(driver, timeoutMs), timeoutMs);
          break;
      }
    } catch (error) {
      throw fromRaftRead(error);
    }
    return this.store.current;
  }

  /** The leader's commit index (this node's own when it leads); fails without a leader. */
  private async leaderCommitIndex(driver: RaftDriver, timeoutMs: number): Promise<number> {
    const { leader, commit } = driver.status();
    if (!leader) throw new Error('no raft leader known');
    if (leader === this.options.nodeName) return commit;
    const answer = (await this.options.mesh.call(leader, RPC.leaderVersion, null, {
      timeoutMs,
    })) as {
      version: number;
    };
    return answer.version;
  }

  /** The Raft voters as this node last applied them; empty before Raft runs here. */
  voters(): readonly string[] {
    return this.driver?.status().confState.voters ?? [];
  }

  /** This node's row of /v1/cluster/statistics (Weaviate's shape, the fields we have). */
  statisticsRow(): Record<string, unknown> {
    const s = this.driver?.status();
    const conf = s?.confState ?? { voters: [], learners: [] };
    return {
      name: this.options.nodeName,
      status: s ? 'HEALTHY' : 'UNHEALTHY',
      ready: this.readiness().ok,
      open: !!s,
      isVoter: conf.voters.includes(this.options.nodeName),
      leaderId: s?.leader ?? '',
      raft: {
        state: s?.role ?? 'notStarted',
        term: s?.term ?? 0,
        commitIndex: s?.commit ?? 0,
        appliedIndex: s?.applied ?? 0,
        lastLogIndex: s?.lastIndex ?? 0,
        lastSnapshotIndex: this.storage?.snapshot().metadata.index ?? 0,
        numPeers: conf.voters.length + conf.learners.length - 1,
        latestConfiguration: { voters: conf.voters, learners: conf.learners },
      },
    };
  }

  /** Every known node's statistics row (peers asked over the mesh; unreachable ones marked so). */
  async clusterStatistics(): Promise<{
    statistics: Record<string, unknown>[];
    synchronized: boolean;
  }> {
    const peers = this.options.mesh.view().map((p) => p.name);
    const rows = await Promise.all(
      peers.map(async (name) => {
        try {
          return (await this.options.mesh.call(name, RPC.statistics, null, {
            timeoutMs: 2000,
          })) as Record<string, unknown>;
        } catch {
          return { name, status: 'UNAVAILABLE', ready: false, open: false };
        }
      }),
    );
    const statistics = [this.statisticsRow(), ...rows].sort((a, b) =>
      String(a.name).localeCompare(String(b.name)),
    );
    // In sync: every node answered, agrees on the leader and has applied the same version.
    const applied = new Set(
      statistics.map((r) => (r.raft as { appliedIndex?: number } | undefined)?.appliedIndex),
    );
    const leaders = new Set(statistics.map((r) => r.leaderId));
    const synchronized =
      statistics.every((r) => r.open === true) && applied.size === 1 && leaders.size === 1;
    return { statistics, synchronized };
  }

  // ---- lifecycle --------------------------------------------------------------------------------

  /** Hands leadership to the most caught-up voter (so a rolling restart needs no election), then stops. */
  async stop(): Promise<void> {
    this.stopped = true;
    const driver = this.driver;
    if (driver) {
      await this.transferLeadershipAway(driver);
      await driver.stop();
    }
    await this.startup;
    await this.storage?.close();
  }

  private async transferLeadershipAway(driver: RaftDriver): Promise<void> {
    const status = driver.status();
    if (status.role !== 'leader' || !status.progress) return;
    const window = this.options.timing.tickMs * this.options.timing.electionTicks;
    const candidates = status.confState.voters
      .filter((v) => v !== this.options.nodeName && driver.heardFrom(v, window))
      .map((v) => ({ v, match: status.progress?.[v]?.match ?? 0 }))
      .sort((a, b) => b.match - a.match);
    const target = candidates[0]?.v;
    if (!target) return;
    this.log.info({ to: target }, 'transferring leadership before shutdown');
    try {
      driver.transferLeadership(target);
    } catch (error) {
      this.log.warn({ err: (error as Error).message }, 'leadership transfer refused');
      return;
    }
    const { tickMs, electionTicks } = this.options.timing;
    const deadline = Date.now() + tickMs * electionTicks * 2;
    while (Date.now() < deadline && driver.status().role === 'leader') {
      await new Promise((resolve) => setTimeout(resolve, tickMs));
    }
  }

  private startupContext(): StartupContext {
    return {
      nodeName: this.options.nodeName,
      join: this.options.join,
      bootstrapExpect: this.options.bootstrapExpect,
      mesh: this.options.mesh,
      logger: this.log,
      requestTimeoutMs: this.options.requestTimeoutMs,
      stopped: () => this.stopped,
      onWaiting: (reason) => (this.waitingReason = reason),
    };
  }

  private async bringUp(): Promise<void> {
    const storage = this.storage!;
    const context = this.startupContext();
    const decision = await decideStartup(context, storage);
    if (!decision || this.stopped) return;
    if (decision.action === 'rejoinAsAmnesiac') {
      // Not one Raft message may be handled before the cluster has forgotten this node.
      this.waitingReason = 'lost raft state: waiting to be removed and re-added as a learner';
      await requestJoin(context, () => false, true);
      if (this.stopped) return;
    }
    this.log.info({ action: decision.action }, 'starting raft');
    const driver = new RaftDriver({
      id: this.options.nodeName,
      storage,
      stateMachine: this.store,
      transport: meshTransport(this.options.mesh, this.options.raftMessageBytes),
      maxMessageBytes: this.options.raftMessageBytes,
      timing: this.options.timing,
      snapshotEvery: this.options.snapshotEntries,
      compactionMargin: Math.min(500, this.options.snapshotEntries),
      logger: this.options.logger,
      metrics: this.metrics,
      onFatal: this.options.onFatal,
      // Every member is a peer to dial (RAFT_JOIN only names the founders); removed ones go.
      onMembership: (conf) => this.options.mesh.setMembers([...conf.voters, ...conf.learners]),
    });
    this.driver = driver;
    driver.start();
    const isMember = () => {
      const conf = driver.status().confState;
      return (
        conf.voters.includes(this.options.nodeName) || conf.learners.includes(this.options.nodeName)
      );
    };
    // A node restarted before its first snapshot arrived is not a member yet either.
    if (decision.action === 'requestJoin' || !isMember()) await requestJoin(context, isMember);
  }

  private serveRpcs(): void {
    const { mesh } = this.options;
    serveRaftMessages(mesh, (message, from) => {
      if (!this.driver) return false;
      this.driver.receive(message, from);
      return true;
    });
    serveStartupRpcs(
      mesh,
      () => this.storage,
      () => this.leaderDriver(),
      this.options.requestTimeoutMs,
      this.log,
    );
    mesh.handle(RPC.statistics, () => this.statisticsRow());
    mesh.handle(
      RPC.execute,
      this.leaderOnly(isSchemaOperation, 'schema operation', (op, deadline) =>
        this.executeAsLeader(op, deadline),
      ),
    );
    mesh.handle(
      RPC.membership,
      this.leaderOnly(isConfChange, 'membership change', (change, deadline) =>
        this.changeMembershipAsLeader(change, deadline),
      ),
    );
    mesh.handle(RPC.leaderVersion, () => {
      this.leaderDriver();
      return { version: this.driver!.status().commit };
    });
  }

  /**
   * A handler for changes forwarded by other nodes: runs them if this node leads (else answers
   * `not_leader` so the caller retries), and carries an HTTP error's status in the error code so
   * the forwarding node answers its client exactly as the leader would have.
   */
  private leaderOnly<T>(
    accepts: (body: unknown) => body is T,
    what: string,
    run: (body: T, deadline: number) => Promise<number>,
  ): (body: unknown) => Promise<{ version: number }> {
    return async (body) => {
      if (!accepts(body)) throw new RpcHandlerError('bad_request', `not a ${what}`);
      this.leaderDriver();
      try {
        return { version: await run(body, Date.now() + this.options.requestTimeoutMs) };
      } catch (error) {
        if (error instanceof HttpError)
          throw new RpcHandlerError(`http_${error.status}`, error.message);
        throw error;
      }
    };
  }

  /** The driver, if this node leads; otherwise tells the caller where the leader is. */
  private leaderDriver(): RaftDriver {
    const driver = this.driver;
    const leader = driver?.status().leader ?? null;
    if (!driver || leader !== this.options.nodeName) {
      throw new RpcHandlerError('not_leader', leader ?? '');
    }
    return driver;
  }

  private running(): RaftDriver {
    if (!this.driver)
      throw new HttpError(503, `cluster metadata not available yet: ${this.waitingReason}`, {
        'Retry-After': '1',
      });
    return this.driver;
  }
}

function isConfChange(value: unknown): value is ConfChange {
  const v = value as { type?: unknown; node?: unknown } | null;
  return (
    typeof v?.node === 'string' &&
    (v.type === 'addVoter' || v.type === 'addLearner' || v.type === 'removeNode')
  );
}
