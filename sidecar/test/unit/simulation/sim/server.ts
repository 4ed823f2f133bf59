/**
 * One simulated quorumstore node: a Host (the machine: its disk, clock and liveness survive
 * crashes) running a Server (the process: Raft node, metadata state machine and driver state,
 * lost on a crash).
 *
 * The Server's driver is a deterministic copy of sidecar/src/raft/driver/raft-driver.ts (which
 * cannot run here: it uses real timers, promises and Date.now). Same contract, same order:
 *
 *   ready() → if mustSync: persist snapshot + entries + hard state (a seeded latency; durable
 *   only when it completes; a Ready that only moves the commit index writes nothing) → send →
 *   restore a snapshot / apply committed entries / serve read states → advance() → step
 *   snapshots that arrived meanwhile → every `snapshotEvery` applied entries: persist the
 *   newest hard state, snapshot the state machine, compact.
 *
 * Proposals are tracked by (index, term) as the driver does: applied with that term → the state
 * machine's result; applied with another term, or the index taken by a newer proposal → dropped
 * (certainly no effect); inside an installed snapshot or no answer by the deadline → unknown.
 *
 * `execute` and `read` mirror sidecar/src/schema/cluster-metadata.ts (and outcomes.ts): a change
 * is executed by the leader — quorum check (a voter majority heard from within an election
 * timeout), ReadIndex barrier, buildCommand, precheck, propose — or forwarded to it (three
 * attempts while the leadership moves); the caller is answered once THIS node has applied it.
 * Reads run a ReadIndex barrier on the node asked (retrieval strategy LeaderOnly).
 *
 * Two switches bring back earlier behaviours of the product, which the simulation caught (see
 * product-bugs.test.ts); the defaults are today's behaviour.
 */
import {
  RaftNode,
  RequestRejectedError,
  type Message,
  type RaftNodeStatus,
  type Ready,
} from '../../../../src/raft/core/index.js';
import {
  decodeConfChange,
  type ConfState,
  type Entry,
  type HardState,
  type Snapshot,
} from '../../../../src/raft/types.js';
import {
  MetadataStateMachine,
  encodeCommand,
  type ApplyResult,
} from '../../../../src/metadata/index.js';
import { buildCommand, type SchemaOperation } from '../../../../src/schema/operations.js';
import type { SchemaOutput } from '../../../support/linearizability/index.js';
import type { EventQueue, SimEvent } from './events.js';
import type { SimDisk } from './disk.js';
import type { Rng } from './rng.js';
import type { Trace } from './trace.js';

export interface ServerConfig {
  readonly tickUs: number;
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  /** Snapshot + compaction after this many applied entries (RAFT_SNAPSHOT_ENTRIES). */
  readonly snapshotEvery: number;
  /** Entries kept behind a snapshot. */
  readonly compactionMargin: number;
  readonly requestTimeoutUs: number;
  /** Latency of an fsynced write, µs. */
  readonly fsyncUs: readonly [number, number];
  readonly maxSizePerMsg: number;
  readonly maxInflightMsgs: number;
  /**
   * The leader runs a ReadIndex barrier before validating a change against its state machine
   * (true, the product today). false: validate against whatever it has applied — the earlier
   * behaviour, which answers 404 / 422 from a stale state (bug 1 in product-bugs.test.ts).
   */
  readonly leaderBarrier: boolean;
  /**
   * ReadIndex contexts: 'unique' never repeat across restarts (the product today: a random
   * prefix per process); 'perProcess' is the earlier `${id}/${counter}`, which a restarted node
   * reuses (bug 2 in product-bugs.test.ts).
   */
  readonly readContexts: 'unique' | 'perProcess';
  /**
   * Deliberately broken variants, to show the checks catch them: 'sendBeforePersist' sends a
   * Ready's messages when its write starts (votes and acknowledgements a crash can take back);
   * 'localReads' serves reads from the local state machine without a barrier.
   */
  readonly mutation?: 'sendBeforePersist' | 'localReads';
}

/** What a client learns from one request. */
export type Outcome =
  /** `note` says how the answer came about (for the failure trace). */
  | { readonly kind: 'ok'; readonly output: SchemaOutput; readonly note?: string }
  /** Certainly not applied (503 "nothing was applied"): refused, not sent, or its slot taken. */
  | { readonly kind: 'rejected'; readonly reason: string }
  /** May or may not take effect (timeouts, resets). */
  | { readonly kind: 'unknown'; readonly reason: string };

/** The leader's answer to an executed (or forwarded) change. */
type LeaderAnswer = { readonly kind: 'version'; readonly version: number } | Outcome;

export interface RpcReply {
  readonly answer: LeaderAnswer | { readonly kind: 'notLeader' };
}

/** The hooks a server has into the simulated world. */
export interface World {
  readonly queue: EventQueue;
  readonly trace: Trace;
  readonly config: ServerConfig;
  readonly safety: SafetyHooks;
  readonly ids: readonly string[];
  readonly stats: WorldStats;
  /** Best effort; false when the link is known to be down. */
  sendRaft(from: number, message: Message): boolean;
  /** Reports (later) whether the snapshot reached its target. */
  sendSnapshot(from: number, message: Message, report: (delivered: boolean) => void): void;
  /**
   * Calls the leader's execute handler. False when the request could not be sent (no
   * connection); a request or answer lost on the way is never reported: the caller times out.
   */
  callRpc(from: number, to: number, op: SchemaOperation, reply: (reply: RpcReply) => void): boolean;
  /** A globally unique number (read contexts that never repeat). */
  unique(): number;
  /** A Ready's write of `latency` µs started (the nemesis may crash the node meanwhile). */
  writeStarted(server: Server, latency: number): void;
}

export interface SafetyHooks {
  observe(server: Server): void;
  onApply(server: Server, entry: Entry): void;
  onSnapshotTaken(server: Server, index: number, data: Buffer): void;
  onSnapshotRestored(server: Server, snapshot: Snapshot): void;
  onAcknowledged(server: Server, index: number): void;
}

export interface WorldStats {
  snapshotsTaken: number;
  snapshotsInstalled: number;
  snapshotsHeld: number;
  compactions: number;
  proposals: number;
  proposalsDropped: number;
  readStates: number;
  quorumRefusals: number;
  appliedNotVisible: number;
  leadershipTransfers: number;
}

const FORWARD_ATTEMPTS = 3;

const NOT_FOUND: SchemaOutput = { ok: false, error: 'not_found' };
const EXISTS: SchemaOutput = { ok: false, error: 'exists' };

/** The machine: what survives a crash. */
export class Host {
  server: Server | null = null;
  incarnation = 0;
  /** Tick pacing: the node's clock runs at this rate (drift); ticks every tickUs / rate. */
  clockRate = 1;
  /** A process pause (GC, CPU starvation): its events wait until then. */
  stalledUntil = 0;
  /** fsync latency multiplier (a slow disk). */
  diskSlowdown = 1;
  /** The nemesis crashes the node while its next write is in flight. */
  crashDuringNextWrite = false;
  crashes = 0;

  constructor(
    readonly index: number,
    readonly id: string,
    readonly disk: SimDisk,
    readonly rng: Rng,
  ) {}

  get alive(): boolean {
    return this.server !== null;
  }
}

interface ProposalWaiter {
  readonly term: number;
  settle(result: { applied: ApplyResult } | { dropped: string } | { unknown: string }): void;
}

interface AppliedWaiter {
  readonly index: number;
  done(applied: boolean): void;
}

type BarrierResult = { index: number } | { rejected: string } | { timedOut: true };

/** One process incarnation on a Host. */
export class Server {
  readonly raft: RaftNode;
  sm: MetadataStateMachine;
  applied: number;
  dead = false;
  /** Membership as of `applied` (what a snapshot taken at `applied` records). */
  private appliedConf: ConfState;
  private lastSnapshotIndex: number;
  /** A Ready's write is in flight: the Ready is outstanding until it completes. */
  private writing = false;
  private readyQueued = false;
  /** The newest hard state: its commit index may not be on disk yet. */
  private unsyncedHardState: HardState | null = null;
  /** When each peer last sent this node a Raft message (µs), for the leader's quorum check. */
  private readonly lastHeard = new Map<string, number>();
  private readonly proposals = new Map<number, ProposalWaiter>();
  private readonly reads = new Map<string, (index: number) => void>();
  private appliedWaiters: AppliedWaiter[] = [];
  private readCounter = 0;
  private readonly readPrefix: string;
  /** Client requests this process must answer; a crash resets them (outcome unknown). */
  private readonly open = new Set<(outcome: Outcome) => void>();

  constructor(
    private readonly world: World,
    readonly host: Host,
  ) {
    const { config } = world;
    const storage = host.disk.storage;
    const snapshot = storage.snapshot();
    const electionJitter = host.rng.fork(`raft-${host.incarnation}`);
    this.sm = restoreMachine(snapshot.data);
    this.applied = snapshot.metadata.index;
    this.appliedConf = snapshot.metadata.confState;
    this.lastSnapshotIndex = snapshot.metadata.index;
    this.readPrefix = config.readContexts === 'unique' ? `${world.unique()}/` : '';
    this.raft = new RaftNode({
      id: host.id,
      storage,
      electionTick: config.electionTicks,
      heartbeatTick: config.heartbeatTicks,
      random: () => electionJitter.float(),
      preVote: true,
      checkQuorum: true,
      maxSizePerMsg: config.maxSizePerMsg,
      maxInflightMsgs: config.maxInflightMsgs,
    });
    world.safety.onSnapshotRestored(this, snapshot);
  }

  get id(): string {
    return this.host.id;
  }

  get index(): number {
    return this.host.index;
  }

  /** A Ready's write is in flight (a crash now loses it). */
  get writeInFlight(): boolean {
    return this.writing;
  }

  start(): void {
    this.at(this.host.rng.int(1, this.tickInterval()), 'tick', () => this.tick());
    this.kick();
  }

  /**
   * ClusterMetadata.stop: a leader first hands leadership to its most caught-up voter among
   * those it heard from lately, and waits (up to two election timeouts) until it has lost it;
   * then the driver stops once its write in flight is done. `stopped` runs then: the process
   * exits.
   */
  stopGracefully(stopped: () => void): void {
    const { config } = this.world;
    const window = config.tickUs * config.electionTicks;
    const deadline = this.world.queue.now + 2 * window;
    const status = this.raft.status();
    if (status.role === 'leader' && status.progress) {
      const target = status.confState.voters
        .filter((v) => v !== this.id && this.heardFrom(v, window))
        .map((v) => ({ v, match: status.progress?.[v]?.match ?? 0 }))
        .sort((a, b) => b.match - a.match)[0]?.v;
      if (target) {
        try {
          this.raft.transferLeadership(target);
          this.world.stats.leadershipTransfers++;
          this.kick();
        } catch (error) {
          if (!(error instanceof RequestRejectedError)) throw error;
        }
      }
    }
    const poll = (): void => {
      const leading = this.raft.status().role === 'leader' && this.world.queue.now < deadline;
      if (leading || this.writing) this.at(config.tickUs, 'stopping', poll);
      else stopped();
    };
    this.at(0, 'stopping', poll);
  }

  /** The process dies: everything volatile is gone; open client requests see a reset. */
  crash(): void {
    this.dead = true;
    for (const reply of [...this.open]) reply({ kind: 'unknown', reason: 'connection reset' });
    this.open.clear();
  }

  // ---- events -----------------------------------------------------------------------------------

  /**
   * Schedules work for this process. It never runs after a crash, and waits out a stall; after
   * it ran, the safety checker looks at the node.
   */
  private at(delay: number, kind: string, run: () => void): SimEvent {
    const { queue } = this.world;
    const wrapped = (): void => {
      if (this.dead) return;
      if (this.host.stalledUntil > queue.now) {
        queue.at(this.host.stalledUntil, kind, this.index, wrapped);
        return;
      }
      run();
      this.world.safety.observe(this);
    };
    return queue.after(delay, kind, this.index, wrapped);
  }

  /** Runs `run` as soon as the process is scheduled (after a stall, never after a crash). */
  accept(kind: string, run: () => void): void {
    this.at(0, kind, run);
  }

  private tickInterval(): number {
    return Math.max(1, Math.round(this.world.config.tickUs / this.host.clockRate));
  }

  private tick(): void {
    this.raft.tick();
    this.kick();
    this.at(this.tickInterval(), 'tick', () => this.tick());
  }

  /** RaftDriver.receive: a Raft message from the network. */
  receive(message: Message): void {
    if (this.dead) return;
    if (this.host.stalledUntil > this.world.queue.now) {
      this.at(0, 'deliver', () => this.receive(message));
      return;
    }
    const trace = this.world.trace;
    trace.mixString(message.type);
    trace.mix(message.term);
    if (message.type === 'append') trace.mix(message.prevIndex + message.entries.length);
    this.lastHeard.set(message.from, this.world.queue.now);
    // The core defers a snapshot that arrives while a Ready is outstanding (counted for the report).
    if (message.type === 'snapshot' && this.writing) this.world.stats.snapshotsHeld++;
    this.raft.step(message);
    this.kick();
    this.world.safety.observe(this);
  }

  private heardFrom(peer: string, windowUs: number): boolean {
    const last = this.lastHeard.get(peer);
    return last !== undefined && this.world.queue.now - last <= windowUs;
  }

  // ---- the Ready loop (RaftDriver.runReadyLoop / handleReady) -------------------------------

  private kick(): void {
    if (this.writing || this.readyQueued || this.dead) return;
    this.readyQueued = true;
    this.at(0, 'ready', () => {
      this.readyQueued = false;
      this.processReadies();
    });
  }

  private processReadies(): void {
    while (!this.writing && !this.dead && this.raft.hasReady()) {
      const rd = this.raft.ready();
      const trace = this.world.trace;
      trace.mix(rd.entries.length);
      trace.mix(rd.committedEntries.length);
      trace.mix(rd.messages.length);
      if (rd.hardState) this.unsyncedHardState = rd.hardState;
      // 1. Durable first: nothing below may depend on state a crash could lose. A Ready that only
      //    moves the commit index writes nothing (Raft does not need the commit index durable).
      if (rd.mustSync) {
        this.writing = true;
        const [lo, hi] = this.world.config.fsyncUs;
        const latency = Math.max(1, Math.round(this.host.rng.int(lo, hi) * this.host.diskSlowdown));
        this.world.writeStarted(this, latency);
        const early = this.world.config.mutation === 'sendBeforePersist';
        if (early) for (const message of rd.messages) this.send(message);
        this.at(latency, 'fsync', () => {
          this.host.disk.write(rd);
          this.writing = false;
          this.finish(rd, !early);
          this.processReadies();
        });
        return;
      }
      this.finish(rd);
    }
  }

  /** Steps 2–4 of the contract, after the write (if any) is durable. */
  private finish(rd: Ready, send = true): void {
    // 2. Then talk.
    if (send) for (const message of rd.messages) this.send(message);
    // 3. Then apply.
    if (rd.snapshot) this.restore(rd.snapshot);
    for (const entry of rd.committedEntries) this.apply(entry);
    for (const read of rd.readStates) {
      this.world.stats.readStates++;
      this.reads.get(read.context)?.(read.index);
      this.reads.delete(read.context);
    }
    // 4. Done with this Ready.
    this.raft.advance(rd);
    this.releaseAppliedWaiters();
    this.maybeSnapshot();
  }

  private send(message: Message): void {
    if (message.type === 'snapshot') {
      this.world.sendSnapshot(this.index, message, (delivered) => {
        if (this.dead) return;
        this.raft.reportSnapshot(message.to, delivered);
        this.kick();
      });
      return;
    }
    if (!this.world.sendRaft(this.index, message)) this.raft.reportUnreachable(message.to);
  }

  private apply(entry: Entry): void {
    const waiter = this.proposals.get(entry.index);
    if (waiter && waiter.term !== entry.term) {
      this.proposals.delete(entry.index);
      waiter.settle({ dropped: `proposal at ${entry.index} was superseded by a new leader` });
    }
    let result: ApplyResult | undefined;
    if (entry.type === 'confChange') {
      this.appliedConf = this.raft.applyConfChange(decodeConfChange(entry.data));
    } else {
      result = this.sm.applyEntry(entry.index, entry.data);
    }
    this.applied = entry.index;
    this.world.safety.onApply(this, entry);
    if (waiter && waiter.term === entry.term) {
      this.proposals.delete(entry.index);
      waiter.settle(result ? { applied: result } : { unknown: 'membership change' });
    }
  }

  private restore(snapshot: Snapshot): void {
    this.sm = restoreMachine(snapshot.data);
    this.applied = snapshot.metadata.index;
    this.appliedConf = snapshot.metadata.confState;
    this.lastSnapshotIndex = snapshot.metadata.index;
    this.world.stats.snapshotsInstalled++;
    this.world.safety.onSnapshotRestored(this, snapshot);
    // Proposals inside the snapshot were applied somewhere, but their results are not known here.
    for (const [index, waiter] of [...this.proposals]) {
      if (index <= this.applied) {
        this.proposals.delete(index);
        waiter.settle({ unknown: `snapshot installed over the proposal at ${index}` });
      }
    }
  }

  private maybeSnapshot(): void {
    const { snapshotEvery, compactionMargin } = this.world.config;
    if (this.applied - this.lastSnapshotIndex < snapshotEvery) return;
    const disk = this.host.disk;
    // The storage only snapshots committed state it knows of: write the lazily kept commit.
    if (this.unsyncedHardState) disk.saveHardState(this.unsyncedHardState);
    const index = this.applied;
    const data = this.sm.snapshot();
    disk.storage.createSnapshot(index, this.appliedConf, data);
    this.lastSnapshotIndex = index;
    this.world.stats.snapshotsTaken++;
    this.world.safety.onSnapshotTaken(this, index, data);
    const compactTo = index - compactionMargin;
    if (compactTo >= disk.storage.firstIndex()) {
      disk.storage.compact(compactTo);
      this.world.stats.compactions++;
    }
  }

  private waitApplied(index: number, timeoutUs: number, done: (applied: boolean) => void): void {
    if (this.applied >= index) {
      done(true);
      return;
    }
    let settled = false;
    const waiter: AppliedWaiter = {
      index,
      done: (applied) => {
        if (settled) return;
        settled = true;
        timer.cancelled = true;
        done(applied);
      },
    };
    const timer = this.at(Math.max(1, timeoutUs), 'timeout', () => {
      this.appliedWaiters = this.appliedWaiters.filter((w) => w !== waiter);
      waiter.done(false);
    });
    this.appliedWaiters.push(waiter);
  }

  private releaseAppliedWaiters(): void {
    if (this.appliedWaiters.length === 0) return;
    const ready = this.appliedWaiters.filter((w) => w.index <= this.applied);
    if (ready.length === 0) return;
    this.appliedWaiters = this.appliedWaiters.filter((w) => w.index > this.applied);
    for (const waiter of ready) waiter.done(true);
  }

  /** RaftDriver.readBarrier: the read index, once applied here. */
  private readBarrier(timeoutUs: number, done: (result: BarrierResult) => void): void {
    const context = `${this.id}/${this.readPrefix}${++this.readCounter}`;
    try {
      this.raft.readIndex(context); // may throw (no leader) before anything is registered
    } catch (error) {
      if (!(error instanceof RequestRejectedError)) throw error;
      done({ rejected: error.reason });
      return;
    }
    this.kick();
    const timer = this.at(Math.max(1, timeoutUs), 'timeout', () => {
      this.reads.delete(context);
      done({ timedOut: true });
    });
    this.reads.set(context, (index) => {
      timer.cancelled = true;
      this.waitApplied(index, timeoutUs, (applied) =>
        done(applied ? { index } : { timedOut: true }),
      );
    });
  }

  // ---- client requests (ClusterMetadata) ------------------------------------------------------

  /** Wraps a client's reply callback: answered once, or reset if the process dies first. */
  private request(reply: (outcome: Outcome) => void): (outcome: Outcome) => void {
    const once = (outcome: Outcome): void => {
      if (!this.open.delete(once)) return;
      reply(outcome);
    };
    this.open.add(once);
    return once;
  }

  /** ClusterMetadata.execute / throughLeader: via the leader, answered once applied here. */
  execute(operation: SchemaOperation, reply: (outcome: Outcome) => void): void {
    const done = this.request(reply);
    const { queue, config } = this.world;
    const deadline = queue.now + config.requestTimeoutUs;
    const onAnswer = (answer: LeaderAnswer): void => {
      if (answer.kind !== 'version') {
        done(answer);
        return;
      }
      // Read-your-writes here; at least a heartbeat's worth of time even past the deadline.
      const wait = Math.max(deadline - queue.now, config.tickUs * 5);
      this.waitApplied(answer.version, wait, (applied) => {
        if (!applied) this.world.stats.appliedNotVisible++;
        // 504 "applied at version v, not caught up here": the client knows it took effect.
        done({
          kind: 'ok',
          output: { ok: true },
          note: applied ? `applied at ${answer.version}` : `504: applied at ${answer.version}`,
        });
      });
    };
    const attempt = (n: number): void => {
      const leader = this.raft.status().leader;
      if (leader === null) {
        done({ kind: 'rejected', reason: 'no leader' });
        return;
      }
      if (leader === this.id) {
        this.executeAsLeader(operation, deadline, onAnswer);
        return;
      }
      const to = this.world.ids.indexOf(leader);
      let answered = false;
      const timer = this.at(Math.max(1, deadline - queue.now), 'timeout', () => {
        answered = true;
        done({ kind: 'unknown', reason: `forwarding to ${leader} timed out` });
      });
      const sent = this.world.callRpc(this.index, to, operation, ({ answer }) => {
        if (answered || this.dead) return;
        answered = true;
        timer.cancelled = true;
        if (answer.kind !== 'notLeader') {
          onAnswer(answer);
          return;
        }
        if (n < FORWARD_ATTEMPTS) this.at(config.tickUs, 'retry', () => attempt(n + 1));
        else done({ kind: 'rejected', reason: `leadership moved away from ${leader}` });
      });
      if (!sent) {
        answered = true;
        timer.cancelled = true;
        done({ kind: 'rejected', reason: `cannot reach the leader ${leader}` });
      }
    };
    attempt(1);
  }

  /** The leader's RPC handler for forwarded changes (ClusterMetadata.leaderOnly). */
  onRpc(operation: SchemaOperation, reply: (reply: RpcReply) => void): void {
    if (this.dead) return;
    if (this.raft.status().leader !== this.id) {
      reply({ answer: { kind: 'notLeader' } });
      return;
    }
    const deadline = this.world.queue.now + this.world.config.requestTimeoutUs;
    this.executeAsLeader(operation, deadline, (answer) => {
      if (!this.dead) reply({ answer });
    });
  }

  /** ClusterMetadata.executeAsLeader. */
  private executeAsLeader(
    operation: SchemaOperation,
    deadline: number,
    answer: (answer: LeaderAnswer) => void,
  ): void {
    const { queue, config, stats } = this.world;
    // requireQuorum: a leader that has not heard from a voter majority lately refuses at once.
    const voters = this.raft.status().confState.voters;
    const window = config.tickUs * config.electionTicks;
    const reachable = voters.filter((v) => v === this.id || this.heardFrom(v, window));
    if (reachable.length < Math.floor(voters.length / 2) + 1) {
      stats.quorumRefusals++;
      answer({ kind: 'rejected', reason: 'the leader hears from no quorum' });
      return;
    }
    if (!config.leaderBarrier) {
      this.buildAndPropose(operation, deadline, answer);
      return;
    }
    // Validate against everything committed so far: a new leader may not have applied what its
    // predecessor acknowledged yet.
    this.readBarrier(Math.max(1, deadline - queue.now), (result) => {
      if ('index' in result) this.buildAndPropose(operation, deadline, answer);
      else answer({ kind: 'rejected', reason: 'the leader could not confirm its state in time' });
    });
  }

  private buildAndPropose(
    operation: SchemaOperation,
    deadline: number,
    answer: (answer: LeaderAnswer) => void,
  ): void {
    const { queue, stats } = this.world;
    const status = this.raft.status();
    const members = [...status.confState.voters, ...status.confState.learners];
    const built = buildCommand(operation, this.sm, members, `${status.term}/${status.lastIndex}`);
    if ('error' in built) {
      answer(errorAnswer(built.error.status, built.error.message, this.earlyNote(status)));
      return;
    }
    const early = this.sm.precheck(built.command);
    if (!early.ok) {
      answer(errorAnswer(early.status, early.message, this.earlyNote(status)));
      return;
    }
    let entry: Entry;
    try {
      entry = this.raft.propose(encodeCommand(built.command));
    } catch (error) {
      if (!(error instanceof RequestRejectedError)) throw error;
      answer({ kind: 'rejected', reason: `not accepted by raft (${error.reason})` });
      return;
    }
    stats.proposals++;
    this.kick();
    const { index, term } = entry;
    const timer = this.at(Math.max(1, deadline - queue.now), 'timeout', () => {
      if (this.proposals.get(index) === waiter) this.proposals.delete(index);
      answer({ kind: 'unknown', reason: `proposal at ${index} timed out` });
    });
    const waiter: ProposalWaiter = {
      term,
      settle: (result) => {
        timer.cancelled = true;
        if ('dropped' in result) {
          stats.proposalsDropped++;
          answer({ kind: 'rejected', reason: result.dropped });
        } else if ('unknown' in result) {
          answer({ kind: 'unknown', reason: result.unknown });
        } else if (result.applied.ok) {
          this.world.safety.onAcknowledged(this, index);
          answer({ kind: 'version', version: index });
        } else {
          const { status: code, message } = result.applied;
          answer(errorAnswer(code, message, `applied at ${index}`));
        }
      },
    };
    // An older waiter at this index belongs to an entry since cut from the log: it never applies.
    this.proposals.get(index)?.settle({ dropped: `proposal at ${index} was superseded` });
    this.proposals.set(index, waiter);
  }

  private earlyNote(status: RaftNodeStatus): string {
    return (
      `answered by leader ${this.id} before proposing, from its state at applied=${this.applied} ` +
      `(commit ${status.commit}, term ${status.term})`
    );
  }

  /** GET /v1/schema/{class} with retrieval strategy LeaderOnly (ReadIndex, then local state). */
  read(name: string, reply: (outcome: Outcome) => void): void {
    const done = this.request(reply);
    const barrier =
      this.world.config.mutation === 'localReads'
        ? (_: number, then: (result: BarrierResult) => void) => then({ index: this.applied })
        : this.readBarrier.bind(this);
    barrier(this.world.config.requestTimeoutUs, (result) => {
      if (!('index' in result)) {
        // 503 "cannot serve a consistent read": nothing changed, retrying is safe.
        const why = 'rejected' in result ? result.rejected : 'read barrier timed out';
        done({ kind: 'rejected', reason: why });
        return;
      }
      const found = this.sm.getCollection(name);
      done({
        kind: 'ok',
        note: `read at index ${result.index}, applied ${this.applied}`,
        output: found
          ? { ok: true, class: { name: found.class, description: found.description ?? '' } }
          : NOT_FOUND,
      });
    });
  }
}

/** An error status the leader answers with: the model's outputs are 404 and 422 "exists". */
function errorAnswer(status: number, message: string, note: string): Outcome {
  if (status === 404) return { kind: 'ok', output: NOT_FOUND, note };
  if (status === 422 && message.includes('already exists')) {
    return { kind: 'ok', output: EXISTS, note };
  }
  // The workload only sends valid operations: anything else is a finding.
  throw new Error(`unexpected error answer ${status}: ${message}`);
}

function restoreMachine(data: Buffer): MetadataStateMachine {
  return data.length === 0 ? new MetadataStateMachine() : MetadataStateMachine.restore(data);
}
