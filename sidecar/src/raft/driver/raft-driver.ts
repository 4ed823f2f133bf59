/**
 * The thin I/O layer around the pure Raft core: ticks on a timer, feeds peer messages in, and
 * runs the Ready/advance loop (persist → send → apply → advance) exactly as the contract in
 * core/raw-node.ts requires. It knows nothing about schemas: it applies opaque commands to a
 * StateMachine and tells proposers what their entry produced.
 *
 * A storage failure while persisting is fatal (the node can no longer keep its promises):
 * the driver stops and reports it through `onFatal`, and the process should exit.
 */
import type { Logger } from 'pino';
import {
  RaftNode,
  RequestRejectedError,
  type Message,
  type RaftNodeStatus,
  type Ready,
} from '../core/index.js';
import {
  decodeConfChange,
  type ConfChange,
  type ConfState,
  type DurableRaftLog,
  type Entry,
  type HardState,
  type Snapshot,
} from '../types.js';
import type { RaftMetrics } from './raft-metrics.js';

/** The replicated state machine: deterministic, so every node computes the same results. */
export interface StateMachine {
  apply(index: number, data: Buffer): unknown;
  snapshot(): Buffer;
  restore(data: Buffer): void;
}

export interface RaftTransport {
  /** Best effort; false when the message could not be handed to the network. */
  send(message: Message): boolean;
  /** Resolves whether the snapshot reached the peer (so the core can retry or move on). */
  sendSnapshot(message: Message): Promise<boolean>;
}

export interface RaftTiming {
  readonly tickMs: number;
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
}

export interface RaftDriverOptions {
  readonly id: string;
  readonly storage: DurableRaftLog;
  readonly stateMachine: StateMachine;
  readonly transport: RaftTransport;
  readonly timing: RaftTiming;
  /** Take a snapshot (and compact the log) after this many applied entries. */
  readonly snapshotEvery: number;
  /** Entries kept behind a snapshot so slightly lagging followers need no snapshot. */
  readonly compactionMargin: number;
  readonly logger: Logger;
  readonly metrics: RaftMetrics;
  readonly onFatal: (error: Error) => void;
  readonly random?: () => number;
  /** Entry bytes per append message: keep messages well inside the transport's frame limit. */
  readonly maxMessageBytes?: number;
  /** Told the applied membership at start and whenever it changes (entry or snapshot). */
  readonly onMembership?: (conf: ConfState) => void;
}

export interface Committed<T> {
  readonly index: number;
  readonly result: T;
}

/** The entry a proposal got was replaced by another leader's: it will never apply. */
export class ProposalDroppedError extends Error {
  override readonly name = 'ProposalDroppedError';
}

/** No answer within the deadline: the proposal may or may not apply later. */
export class RaftTimeoutError extends Error {
  override readonly name = 'RaftTimeoutError';
}

interface ProposalWaiter {
  readonly term: number;
  resolve(result: unknown): void;
  reject(error: Error): void;
}

interface IndexWaiter {
  readonly index: number;
  resolve(): void;
}

export class RaftDriver {
  private readonly node: RaftNode;
  private readonly log: Logger;
  private readonly proposals = new Map<number, ProposalWaiter>();
  private readonly reads = new Map<string, (index: number) => void>();
  private appliedWaiters: IndexWaiter[] = [];
  private applied: number;
  /** Membership as of `applied`: what a snapshot taken at `applied` must record. */
  private appliedConf: ConfState;
  private leader: string | null = null;
  private ticker: NodeJS.Timeout | null = null;
  private processing = false;
  private stopped = false;
  /** Read contexts never repeat across restarts, so a stale answer can never match a new read. */
  private readonly readPrefix = Math.floor(Math.random() * 2 ** 32).toString(36);
  private readCounter = 0;
  /** The newest hard state; its commit index may not be on disk yet (see handleReady). */
  private unsyncedHardState: HardState | null = null;
  /** When each peer last sent this node a Raft message, for the leader's quorum check. */
  private readonly lastHeard = new Map<string, number>();

  constructor(private readonly options: RaftDriverOptions) {
    this.log = options.logger.child({ component: 'raft' });
    const snapshot = options.storage.snapshot();
    options.stateMachine.restore(snapshot.data);
    this.applied = snapshot.metadata.index;
    this.appliedConf = snapshot.metadata.confState;
    this.node = new RaftNode({
      id: options.id,
      storage: options.storage,
      electionTick: options.timing.electionTicks,
      heartbeatTick: options.timing.heartbeatTicks,
      random: options.random ?? Math.random,
      preVote: true,
      checkQuorum: true,
      ...(options.maxMessageBytes ? { maxSizePerMsg: options.maxMessageBytes } : {}),
    });
  }

  start(): void {
    this.options.onMembership?.(this.appliedConf);
    this.ticker = setInterval(
      () => this.guarded(() => this.node.tick()),
      this.options.timing.tickMs,
    );
    this.kick();
    const s = this.node.status();
    this.log.info(
      {
        term: s.term,
        commit: s.commit,
        applied: this.applied,
        lastIndex: s.lastIndex,
        conf: s.confState,
      },
      'raft started',
    );
  }

  status(): RaftNodeStatus {
    return this.node.status();
  }

  get appliedIndex(): number {
    return this.applied;
  }

  /** Steps a message from the authenticated peer `from` (a message claiming another sender is dropped). */
  receive(message: unknown, from: string): void {
    if (this.stopped) return;
    const claimed = (message as { from?: unknown } | null)?.from;
    if (claimed !== from) {
      this.options.metrics.droppedMessages.inc({ reason: 'spoofed' });
      return;
    }
    this.lastHeard.set(from, Date.now());
    this.guarded(() => {
      const result = this.node.step(message as Message);
      if (result !== 'accepted') this.options.metrics.droppedMessages.inc({ reason: result });
    });
  }

  /** Whether `peer` sent this node any Raft message within the last `windowMs`. */
  heardFrom(peer: string, windowMs: number): boolean {
    return Date.now() - (this.lastHeard.get(peer) ?? Number.NEGATIVE_INFINITY) <= windowMs;
  }

  /**
   * Proposes on this node, which must be the leader (else RequestRejectedError naming the
   * leader, for forwarding). Resolves with the state machine's result once applied here.
   */
  propose<T>(data: Buffer, timeoutMs: number): Promise<Committed<T>> {
    return this.track(() => this.node.propose(data), timeoutMs);
  }

  proposeConfChange(change: ConfChange, timeoutMs: number): Promise<Committed<ConfState>> {
    return this.track(() => this.node.proposeConfChange(change), timeoutMs);
  }

  /**
   * A linearizable read barrier (ReadIndex): resolves once this node has applied everything
   * committed before the call, as confirmed by the leader with a quorum.
   */
  async readBarrier(timeoutMs: number): Promise<number> {
    const context = `${this.options.id}/${this.readPrefix}/${++this.readCounter}`;
    this.node.readIndex(context); // may throw (no leader): before anything is registered
    this.kick();
    const index = await this.withTimeout(
      new Promise<number>((resolve) => this.reads.set(context, resolve)),
      timeoutMs,
      () => this.reads.delete(context),
      'read index',
    );
    await this.waitApplied(index, timeoutMs);
    return index;
  }

  /** Resolves once this node has applied `index` (the schema version a caller has seen). */
  waitApplied(index: number, timeoutMs: number): Promise<void> {
    if (this.applied >= index) return Promise.resolve();
    let waiter: IndexWaiter;
    return this.withTimeout(
      new Promise<void>((resolve) => {
        waiter = { index, resolve };
        this.appliedWaiters.push(waiter);
      }),
      timeoutMs,
      () => (this.appliedWaiters = this.appliedWaiters.filter((w) => w !== waiter)),
      `applying index ${index}`,
    );
  }

  transferLeadership(to: string): void {
    this.node.transferLeadership(to);
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.ticker) clearInterval(this.ticker);
    for (const waiter of this.proposals.values()) {
      waiter.reject(new RaftTimeoutError('node is shutting down; the outcome is unknown'));
    }
    this.proposals.clear();
    while (this.processing) await new Promise((resolve) => setTimeout(resolve, 5));
  }

  // ---- the Ready loop -------------------------------------------------------------------------

  /** Runs an input to the core, then the Ready loop; a throw means this node must stop. */
  private guarded(input: () => void): void {
    if (this.stopped) return;
    try {
      input();
    } catch (error) {
      this.fail(error as Error);
      return;
    }
    this.kick();
  }

  private fail(error: Error): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.ticker) clearInterval(this.ticker);
    this.log.fatal({ err: error }, 'raft cannot continue (storage failure or broken invariant)');
    this.options.onFatal(error);
  }

  private kick(): void {
    if (this.processing || this.stopped) return;
    this.processing = true;
    setImmediate(() => void this.runReadyLoop());
  }

  private async runReadyLoop(): Promise<void> {
    try {
      while (!this.stopped && this.node.hasReady()) await this.handleReady(this.node.ready());
    } catch (error) {
      this.fail(error as Error);
    } finally {
      this.processing = false;
    }
  }

  private async handleReady(rd: Ready): Promise<void> {
    if (rd.softState) this.noteSoftState(rd.softState.leader, rd.softState.role);
    // 1. Durable first: nothing below may depend on state that a crash could lose. A Ready that
    //    only advances the commit index needs no write at all: Raft does not require the commit
    //    index to be durable (a restarted node learns it again from the leader), and skipping
    //    the fsync takes one disk flush off every change's critical path.
    if (rd.hardState) this.unsyncedHardState = rd.hardState;
    if (rd.mustSync) {
      const started = process.hrtime.bigint();
      await this.options.storage.save({
        ...(rd.hardState ? { hardState: rd.hardState } : {}),
        ...(rd.entries.length > 0 ? { entries: rd.entries } : {}),
        ...(rd.snapshot ? { snapshot: rd.snapshot } : {}),
      });
      this.options.metrics.persistDuration.observe(seconds(started));
    }
    // 2. Then talk.
    for (const message of rd.messages) this.send(message);
    // 3. Then apply.
    if (rd.snapshot) this.restore(rd.snapshot);
    for (const entry of rd.committedEntries) this.apply(entry);
    for (const read of rd.readStates) {
      this.reads.get(read.context)?.(read.index);
      this.reads.delete(read.context);
    }
    this.node.advance(rd);
    this.releaseAppliedWaiters();
    await this.maybeSnapshot();
  }

  private send(message: Message): void {
    if (message.type === 'snapshot') {
      void this.options.transport.sendSnapshot(message).then((delivered) => {
        this.node.reportSnapshot(message.to, delivered);
        this.kick();
      });
      return;
    }
    if (!this.options.transport.send(message)) this.node.reportUnreachable(message.to);
  }

  private apply(entry: Entry): void {
    const waiter = this.proposals.get(entry.index);
    if (waiter && waiter.term !== entry.term) {
      this.proposals.delete(entry.index);
      waiter.reject(
        new ProposalDroppedError(`proposal at index ${entry.index} was superseded by a new leader`),
      );
    }
    let result: unknown;
    if (entry.type === 'confChange') {
      const change = decodeConfChange(entry.data);
      this.appliedConf = this.node.applyConfChange(change);
      result = this.appliedConf;
      this.log.info({ index: entry.index, change, conf: result }, 'membership changed');
      this.options.onMembership?.(this.appliedConf);
    } else {
      const started = process.hrtime.bigint();
      result = this.options.stateMachine.apply(entry.index, entry.data);
      this.options.metrics.applyDuration.observe(seconds(started));
    }
    this.applied = entry.index;
    if (waiter && waiter.term === entry.term) {
      this.proposals.delete(entry.index);
      waiter.resolve(result);
    }
  }

  private restore(snapshot: Snapshot): void {
    this.options.stateMachine.restore(snapshot.data);
    this.applied = snapshot.metadata.index;
    this.appliedConf = snapshot.metadata.confState;
    this.options.onMembership?.(this.appliedConf);
    // Proposals inside the snapshot were applied somewhere, but their results are not known here.
    for (const [index, waiter] of this.proposals) {
      if (index <= this.applied) {
        this.proposals.delete(index);
        waiter.reject(
          new RaftTimeoutError(
            `outcome of the proposal at index ${index} is unknown (snapshot installed)`,
          ),
        );
      }
    }
    this.log.info(
      { index: snapshot.metadata.index, term: snapshot.metadata.term },
      'snapshot installed from leader',
    );
  }

  private async maybeSnapshot(): Promise<void> {
    const lastSnapshotIndex = this.options.storage.snapshot().metadata.index;
    if (this.applied - lastSnapshotIndex < this.options.snapshotEvery) return;
    const started = process.hrtime.bigint();
    const index = this.applied;
    // The storage only snapshots committed state it knows of: write the lazily kept commit index.
    if (this.unsyncedHardState)
      await this.options.storage.save({ hardState: this.unsyncedHardState });
    const data = this.options.stateMachine.snapshot();
    await this.options.storage.createSnapshot(index, this.appliedConf, data);
    const compactTo = index - this.options.compactionMargin;
    if (compactTo >= this.options.storage.firstIndex())
      await this.options.storage.compact(compactTo);
    this.options.metrics.snapshotBytes.set(data.length);
    this.options.metrics.snapshotDuration.observe(seconds(started));
    this.log.info({ index, bytes: data.length, compactedTo: compactTo }, 'snapshot taken');
  }

  private noteSoftState(leader: string | null, role: string): void {
    if (role === 'candidate') this.options.metrics.elections.inc();
    if (leader !== this.leader) {
      this.options.metrics.leaderChanges.inc();
      this.log.info(
        { leader, previous: this.leader, role, term: this.node.status().term },
        'leader changed',
      );
      this.leader = leader;
    }
  }

  private releaseAppliedWaiters(): void {
    if (this.appliedWaiters.length === 0) return;
    const ready = this.appliedWaiters.filter((w) => w.index <= this.applied);
    if (ready.length === 0) return;
    this.appliedWaiters = this.appliedWaiters.filter((w) => w.index > this.applied);
    for (const waiter of ready) waiter.resolve();
  }

  // ---- helpers ----------------------------------------------------------------------------------

  private track<T>(append: () => Entry, timeoutMs: number): Promise<Committed<T>> {
    if (this.stopped)
      return Promise.reject(new RequestRejectedError('noLeader', null, 'node is shutting down'));
    const started = process.hrtime.bigint();
    let entry: Entry;
    try {
      entry = append();
    } catch (error) {
      this.options.metrics.proposalDuration.observe({ outcome: 'rejected' }, seconds(started));
      return Promise.reject(error as Error);
    }
    this.kick();
    let waiter!: ProposalWaiter;
    const outcome = new Promise<Committed<T>>((resolve, reject) => {
      waiter = {
        term: entry.term,
        resolve: (result) => resolve({ index: entry.index, result: result as T }),
        reject,
      };
    });
    // An older waiter at this index belongs to an entry since cut from the log: it never applies.
    this.proposals
      .get(entry.index)
      ?.reject(new ProposalDroppedError(`proposal at index ${entry.index} was superseded`));
    this.proposals.set(entry.index, waiter);
    const forget = () => {
      if (this.proposals.get(entry.index) === waiter) this.proposals.delete(entry.index);
    };
    return this.withTimeout(outcome, timeoutMs, forget, `proposal at index ${entry.index}`).then(
      (committed) => {
        this.options.metrics.proposalDuration.observe({ outcome: 'ok' }, seconds(started));
        return committed;
      },
      (error: Error) => {
        const outcome = error instanceof RaftTimeoutError ? 'timeout' : 'failed';
        this.options.metrics.proposalDuration.observe({ outcome }, seconds(started));
        throw error;
      },
    );
  }

  private withTimeout<T>(
    promise: Promise<T>,
    timeoutMs: number,
    onTimeout: () => void,
    what: string,
  ): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        onTimeout();
        reject(new RaftTimeoutError(`${what}: no result within ${timeoutMs}ms`));
      }, timeoutMs);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  }
}

function seconds(started: bigint): number {
  return Number(process.hrtime.bigint() - started) / 1e9;
}
