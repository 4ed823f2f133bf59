/**
 * An in-process network of RaftNodes for interaction tests (the role of etcd-raft's datadriven
 * `interaction_env`). Each node has a MemoryStorage and a toy state machine (the list of applied
 * payloads); a driver loop that follows the Ready/advance contract exactly; and a network that
 * queues messages until told to deliver them, with partitions and drop rules.
 *
 * The method names read like a script: campaign, propose, stabilize, isolate, heal, tick, ….
 *
 * Safety is checked continuously, not just where a test asserts:
 * - election safety: at most one leader per term (checked whenever a node's role may change);
 * - leader completeness: a new leader's log holds every entry applied anywhere so far;
 * - state-machine safety: no two nodes apply different entries at one index;
 * - no node ever drops a message as 'conflictingLeader'.
 * Log matching is checkable on demand (checkLogMatching).
 */
import {
  MemoryStorage,
  RaftNode,
  bootstrapState,
  type Message,
  type RaftNodeStatus,
  type ReadState,
} from '../../../src/raft/core/index.js';
import {
  EMPTY_CONF_STATE,
  decodeConfChange,
  type ConfChange,
  type ConfState,
  type Entry,
  type Snapshot,
} from '../../../src/raft/types.js';
import { prng } from '../../support/random.js';

export interface ClusterOptions {
  /** Founding voters, bootstrapped with identical storage. */
  readonly voters: readonly string[];
  readonly electionTick?: number;
  readonly heartbeatTick?: number;
  readonly preVote?: boolean;
  readonly checkQuorum?: boolean;
  readonly maxSizePerMsg?: number;
  readonly maxInflightMsgs?: number;
  readonly maxUncommittedEntriesSize?: number;
  /** Seeds each node's election-timeout randomness. */
  readonly seed?: number;
  /** Prepared storage per node (e.g. divergent logs); founders default to bootstrap storage. */
  readonly storage?: Readonly<Record<string, MemoryStorage>>;
}

/** One simulated server: the Raft node plus what its driver owns (disk, state machine). */
export class SimNode {
  node!: RaftNode;
  /** Payloads applied, as `index:data` (no-ops skipped, conf changes as `index:conf:…`). */
  state: string[] = [];
  appliedIndex = 0;
  /** Membership as of appliedIndex, as a driver tracks it: from snapshots and applyConfChange. */
  confState: ConfState = EMPTY_CONF_STATE;
  readonly readStates: ReadState[] = [];

  constructor(
    readonly id: string,
    readonly storage: MemoryStorage,
  ) {}
}

export type MessageFilter = (m: Message) => boolean;

export class Cluster {
  readonly nodes = new Map<string, SimNode>();
  /** Sent, not yet delivered, in send order. */
  inFlight: Message[] = [];
  /** Every delivered message, for tests that count round trips. */
  readonly delivered: Message[] = [];
  recordDeliveries = true;

  private readonly blockedLinks = new Set<string>();
  private readonly dropRules = new Set<MessageFilter>();
  private readonly leaderOfTerm = new Map<number, string>();
  /** index → `term:payload` of every entry applied anywhere. */
  private readonly appliedAnywhere = new Map<number, string>();

  constructor(readonly options: ClusterOptions) {
    for (const id of options.voters) {
      this.addNode(id, options.storage?.[id] ?? MemoryStorage.bootstrap(options.voters));
    }
    for (const [id, storage] of Object.entries(options.storage ?? {})) {
      if (!this.nodes.has(id)) this.addNode(id, storage);
    }
  }

  /** Starts a node; a node with empty storage has no membership and waits to be added. */
  addNode(id: string, storage: MemoryStorage = new MemoryStorage()): SimNode {
    const sim = new SimNode(id, storage);
    this.nodes.set(id, sim);
    this.start(sim);
    return sim;
  }

  /** Crash and restart: unpersisted state is lost; the state machine restarts from the snapshot. */
  restart(id: string): void {
    this.start(this.sim(id));
  }

  private start(sim: SimNode): void {
    const o = this.options;
    sim.node = new RaftNode({
      id: sim.id,
      storage: sim.storage,
      electionTick: o.electionTick ?? 10,
      heartbeatTick: o.heartbeatTick ?? 1,
      random: prng((o.seed ?? 1) * 7919 + hashId(sim.id)),
      preVote: o.preVote ?? true,
      checkQuorum: o.checkQuorum ?? true,
      maxSizePerMsg: o.maxSizePerMsg,
      maxInflightMsgs: o.maxInflightMsgs,
      maxUncommittedEntriesSize: o.maxUncommittedEntriesSize,
    });
    this.restoreStateMachine(sim, sim.storage.snapshot());
  }

  sim(id: string): SimNode {
    const sim = this.nodes.get(id);
    if (!sim) throw new Error(`no node ${id}`);
    return sim;
  }

  node(id: string): RaftNode {
    return this.sim(id).node;
  }

  status(id: string): RaftNodeStatus {
    return this.node(id).status();
  }

  ids(): string[] {
    return [...this.nodes.keys()].sort();
  }

  // --- driving nodes -------------------------------------------------------------------------

  campaign(id: string): void {
    this.node(id).campaign();
    this.observe(id);
  }

  propose(id: string, data: string): Entry {
    return this.node(id).propose(Buffer.from(data));
  }

  proposeConfChange(id: string, change: ConfChange): Entry {
    return this.node(id).proposeConfChange(change);
  }

  /** Ticks `id` n times (no delivery in between). */
  tick(id: string, n = 1): void {
    for (let i = 0; i < n; i++) {
      this.node(id).tick();
      this.observe(id);
    }
  }

  /** n rounds of: tick every node once, then stabilize. */
  tickAll(n = 1): void {
    for (let i = 0; i < n; i++) {
      for (const id of this.ids()) this.tick(id);
      this.stabilize();
    }
  }

  /** Ticks all nodes (stabilizing each round) until `done` holds; returns the rounds taken. */
  tickUntil(done: () => boolean, maxRounds = 1000): number {
    for (let round = 1; round <= maxRounds; round++) {
      this.tickAll();
      if (done()) return round;
    }
    throw new Error(`condition not reached within ${maxRounds} tick rounds`);
  }

  /** Handles one Ready of `id` the way a correct driver must. False if it had none. */
  processReady(id: string): boolean {
    const sim = this.sim(id);
    if (!sim.node.hasReady()) return false;
    const rd = sim.node.ready();
    // 1. Persist: snapshot, entries, hard state.
    if (rd.snapshot) sim.storage.applySnapshot(rd.snapshot);
    sim.storage.append(rd.entries);
    if (rd.hardState) sim.storage.setHardState(rd.hardState);
    // 2. Send.
    for (const m of rd.messages) this.send(m);
    // 3. Apply.
    if (rd.snapshot) this.restoreStateMachine(sim, rd.snapshot);
    for (const entry of rd.committedEntries) this.apply(sim, entry);
    sim.readStates.push(...rd.readStates);
    // 4. Advance.
    sim.node.advance(rd);
    this.observe(id);
    return true;
  }

  /** Processes every node's pending Readies. True if there was any. */
  processReadies(): boolean {
    let any = false;
    for (const id of this.ids()) {
      while (this.processReady(id)) any = true;
    }
    return any;
  }

  /** Delivers the messages in flight now (not those their handling produces). Returns the count. */
  deliverAll(): number {
    const batch = this.inFlight;
    this.inFlight = [];
    for (const m of batch) this.deliver(m);
    return batch.length;
  }

  /** Delivers one message, unless its link is down by now. */
  deliver(m: Message): void {
    if (this.blockedLinks.has(link(m.from, m.to)) || !this.nodes.has(m.to)) return;
    if (this.recordDeliveries) this.delivered.push(m);
    this.node(m.to).step(m);
    this.observe(m.to);
  }

  /** Alternates Ready processing and delivery until nothing is left to do. */
  stabilize(maxRounds = 10_000): void {
    for (let round = 0; round < maxRounds; round++) {
      const hadReady = this.processReadies();
      if (this.inFlight.length === 0 && !hadReady) return;
      this.deliverAll();
    }
    throw new Error(`not stable after ${maxRounds} rounds`);
  }

  // --- network faults ------------------------------------------------------------------------

  private send(m: Message): void {
    if (this.blockedLinks.has(link(m.from, m.to))) return;
    for (const rule of this.dropRules) if (rule(m)) return;
    this.inFlight.push(m);
  }

  /** Cuts every link to and from `id`. */
  isolate(id: string): void {
    for (const other of this.ids()) {
      if (other !== id) this.cut(id, other);
    }
  }

  /** Cuts links between nodes of different groups. */
  partition(...groups: string[][]): void {
    for (const [i, group] of groups.entries()) {
      for (const other of groups.slice(i + 1).flat()) for (const id of group) this.cut(id, other);
    }
  }

  cut(a: string, b: string): void {
    this.blockedLinks.add(link(a, b));
    this.blockedLinks.add(link(b, a));
  }

  /** Restores every link (drop rules stay). */
  heal(): void {
    this.blockedLinks.clear();
  }

  /** Drops matching messages at send time until the returned function is called. */
  dropIf(rule: MessageFilter): () => void {
    this.dropRules.add(rule);
    return () => this.dropRules.delete(rule);
  }

  countDelivered(rule: MessageFilter): number {
    return this.delivered.filter(rule).length;
  }

  /** Forgets delivered messages, so that counting starts afresh. */
  clearDelivered(): void {
    this.delivered.length = 0;
  }

  // --- storage -------------------------------------------------------------------------------

  /** Snapshots `id`'s state machine at its applied index and compacts its log up to there. */
  compact(id: string): void {
    const sim = this.sim(id);
    const data = Buffer.from(JSON.stringify(sim.state));
    sim.storage.createSnapshot(sim.appliedIndex, sim.confState, data);
    sim.storage.compact(sim.appliedIndex);
  }

  // --- state machine -------------------------------------------------------------------------

  private apply(sim: SimNode, entry: Entry): void {
    expectThat(
      entry.index === sim.appliedIndex + 1,
      `${sim.id} applies ${entry.index} after ${sim.appliedIndex}`,
    );
    const payload =
      entry.type === 'confChange' ? `conf:${entry.data.toString()}` : entry.data.toString();
    this.recordApplied(sim.id, entry.index, `${entry.term}:${payload}`);
    sim.appliedIndex = entry.index;
    if (entry.type === 'confChange') {
      sim.confState = sim.node.applyConfChange(decodeConfChange(entry.data));
      sim.state.push(`${entry.index}:${payload}`);
    } else if (entry.data.length > 0) {
      sim.state.push(`${entry.index}:${payload}`);
    }
  }

  private restoreStateMachine(sim: SimNode, snapshot: Snapshot): void {
    const { data, metadata } = snapshot;
    sim.state = data.length > 0 ? (JSON.parse(data.toString()) as string[]) : [];
    sim.appliedIndex = metadata.index;
    sim.confState = metadata.confState;
  }

  private recordApplied(id: string, index: number, value: string): void {
    const seen = this.appliedAnywhere.get(index);
    expectThat(
      seen === undefined || seen === value,
      `state-machine safety: ${id} applied ${value} at ${index}, another node applied ${seen}`,
    );
    this.appliedAnywhere.set(index, value);
  }

  // --- observation ---------------------------------------------------------------------------

  /** The leader of the highest term, if some node is leader of it. */
  leader(): string | undefined {
    let best: { id: string; term: number } | undefined;
    for (const id of this.ids()) {
      const s = this.status(id);
      if (s.role === 'leader' && (!best || s.term > best.term)) best = { id, term: s.term };
    }
    return best?.id;
  }

  /** Records leadership and checks election safety and leader completeness. */
  private observe(id: string): void {
    const s = this.node(id).status();
    expectThat(
      !s.dropped.conflictingLeader,
      `${id} saw two leaders in term ${s.term} (dropped as conflictingLeader)`,
    );
    if (s.role !== 'leader') return;
    const known = this.leaderOfTerm.get(s.term);
    expectThat(
      known === undefined || known === id,
      `election safety: ${known} and ${id} both lead term ${s.term}`,
    );
    if (known !== undefined) return;
    this.leaderOfTerm.set(s.term, id);
    for (const [index, value] of this.appliedAnywhere) {
      if (index < s.firstIndex) continue; // compacted into its snapshot: committed there too
      const term = Number(value.slice(0, value.indexOf(':')));
      expectThat(
        this.node(id).termAt(index) === term,
        `leader completeness: new leader ${id} (term ${s.term}) lacks entry ${index}@${term}`,
      );
    }
  }

  /** Log Matching: if two logs hold an entry with the same index and term, they agree up to it. */
  checkLogMatching(): void {
    const ids = this.ids();
    for (const [i, a] of ids.entries()) {
      for (const b of ids.slice(i + 1)) {
        const na = this.node(a);
        const nb = this.node(b);
        const lo = Math.max(this.status(a).firstIndex, this.status(b).firstIndex);
        const hi = Math.min(this.status(a).lastIndex, this.status(b).lastIndex);
        let agreeFrom = hi + 1; // below the highest common (index, term), all must agree
        for (let index = hi; index >= lo; index--) {
          const same = na.termAt(index) === nb.termAt(index);
          if (same && agreeFrom > hi) agreeFrom = index;
          expectThat(
            same || agreeFrom > hi,
            `log matching: ${a} and ${b} agree at ${agreeFrom} but differ at ${index}`,
          );
        }
      }
    }
  }

  /** Terms of `id`'s log from `from` to its last index. */
  logTerms(id: string, from = 2): number[] {
    const terms: number[] = [];
    for (let index = from; index <= this.status(id).lastIndex; index++) {
      terms.push(this.node(id).termAt(index) ?? -1);
    }
    return terms;
  }
}

/** Storage holding the bootstrap snapshot, then entries 2, 3, … with the given terms. */
export function storageWithLog(voters: readonly string[], terms: readonly number[]): MemoryStorage {
  const { snapshot } = bootstrapState(voters);
  const lastTerm = Math.max(1, ...terms);
  const storage = new MemoryStorage({
    snapshot,
    hardState: { term: lastTerm, vote: null, commit: 1 },
  });
  storage.append(
    terms.map((term, i) => ({
      term,
      index: i + 2,
      type: 'normal' as const,
      data: Buffer.from(`t${term}-${i + 2}`),
    })),
  );
  return storage;
}

function link(from: string, to: string): string {
  return `${from}->${to}`;
}

function hashId(id: string): number {
  let h = 0;
  for (const ch of id) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return h;
}

/** A harness-level safety check: fails the test with the violated property. */
function expectThat(condition: boolean, message: string): void {
  if (!condition) throw new Error(message);
}
