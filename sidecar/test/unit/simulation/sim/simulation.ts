/**
 * One simulation run: N nodes, clients and a fault injector in one process, on one seeded
 * virtual timeline. Phases:
 *
 *   1. chaos   — clients issue schema operations while the nemesis crashes and restarts nodes
 *                (a crash loses every write not yet complete), partitions the network
 *                (symmetric, asymmetric, bridged) and heals it, makes links lossy and slow,
 *                skews clocks, pauses processes and slows disks. Safety is checked after every
 *                event (see safety.ts).
 *   2. settle  — everything healed and restarted, clients finish what they started; a final
 *                write must succeed and every node must converge to the same applied index and
 *                byte-identical metadata (liveness), within a bounded simulated time.
 *   3. verdict — the client history must be linearizable (checkLinearizable must say 'ok';
 *                'unknown' is a failure to verify).
 *
 * Every random choice comes from the seed, nothing reads a real clock or Math.random, so a seed
 * replays the identical event sequence (the trace digest proves it). A failure names the seed
 * and the command that replays it, and shows the last events of the run.
 */
import { FrameKind, decodeRpcFrame, encodeFrame } from '../../../../src/mesh/frames.js';
import { MemoryStorage, bootstrapState, type Message } from '../../../../src/raft/core/index.js';
import { RAFT_MESSAGE } from '../../../../src/raft/driver/mesh-transport.js';
import { RAFT_SNAPSHOT_CHUNK } from '../../../../src/raft/driver/snapshot-transfer.js';
import { MetadataStateMachine } from '../../../../src/metadata/index.js';
import type { SchemaOperation } from '../../../../src/schema/operations.js';
import {
  checkLinearizable,
  describeResult,
  schemaModel,
  type SchemaInput,
  type Verdict,
} from '../../../support/linearizability/index.js';
import { Clients, type ClientStats } from './clients.js';
import { SimDisk } from './disk.js';
import { EventQueue } from './events.js';
import { CALM_LINK, Network, type LinkFaults, type NetworkStats } from './network.js';
import { Rng } from './rng.js';
import { SafetyChecker } from './safety.js';
import {
  Host,
  Server,
  type Outcome,
  type RpcReply,
  type ServerConfig,
  type World,
  type WorldStats,
} from './server.js';
import { Trace } from './trace.js';

export type Profile = 'short' | 'long';

export interface SimulationOptions {
  readonly seed: number;
  readonly nodes: number;
  readonly profile?: Profile;
  /** Overrides of the seed-chosen server configuration. */
  readonly server?: Partial<ServerConfig>;
  /** Keep the last N events as text in this run (slower; the failure replay does it). */
  readonly traceLines?: number;
  /** Events shown with a failure (default 60). */
  readonly failureTrace?: number;
  /**
   * A scripted scenario instead of random clients and faults: it drives the run through the
   * control it gets; the settle phase and every check follow as usual.
   */
  readonly scenario?: Scenario;
}

export interface Scenario {
  /** Simulated time the script runs before everything is healed (ms). */
  readonly durationMs: number;
  readonly run: (control: ScenarioControl) => void;
}

/** What a scripted scenario can do (node arguments are indices: 0 is n1). */
export interface ScenarioControl {
  readonly ids: readonly string[];
  readonly hosts: readonly Host[];
  /** Runs `action` once `condition` holds (checked every millisecond of simulated time). */
  when(condition: () => boolean, action: () => void): void;
  /** The leader of the highest term, if any. */
  leader(): number | undefined;
  crash(node: number): void;
  restart(node: number): void;
  /** Drops matching Raft messages when they are sent, until the returned function is called. */
  dropIf(rule: (message: Message) => boolean): () => void;
  /** A client request to `node`; `then` gets the outcome. */
  invoke(client: string, input: SchemaInput, node: number, then?: (outcome: Outcome) => void): void;
}

export interface SimulationReport {
  readonly seed: number;
  readonly nodes: number;
  readonly profile: Profile;
  /** Digest of the whole event sequence: equal for two runs of one seed. */
  readonly trace: string;
  readonly events: number;
  readonly simulatedMs: number;
  readonly leadersElected: number;
  readonly highestCommitted: number;
  readonly acknowledgedWrites: number;
  readonly crashes: number;
  /** Crashes that caught a Ready's write in flight (lost as a whole). */
  readonly lostWrites: number;
  /** Crashes after which the node restarted with an older commit index than it knew. */
  readonly commitBehindAtCrash: number;
  readonly partitions: number;
  readonly world: WorldStats;
  readonly network: NetworkStats;
  readonly clients: ClientStats;
  readonly linearizability: { readonly result: Verdict; readonly operations: number };
}

export class SimulationFailure extends Error {
  override readonly name = 'SimulationFailure';
}

/** The history has no linearization; `window` (µs) spans the operations that conflict. */
class LinearizabilityFailure extends Error {
  override readonly name = 'LinearizabilityFailure';
  constructor(
    message: string,
    readonly window: readonly [number, number] | null,
  ) {
    super(message);
  }
}

export function replayCommand(options: SimulationOptions): string {
  if (options.scenario) return 're-run the test that defines the scenario (it is deterministic)';
  const overrides = options.server && Object.keys(options.server).length > 0;
  return (
    `SIM_SEED=${options.seed} SIM_NODES=${options.nodes} SIM_PROFILE=${options.profile ?? 'short'} ` +
    'npm run test:unit -- --testPathPatterns simulation' +
    (overrides
      ? ` (plus server options ${JSON.stringify(options.server)}: run it from the test)`
      : '')
  );
}

/**
 * Runs one seed. On failure, runs it again keeping the trace text (the replay is identical) and
 * throws a SimulationFailure naming the seed, the replay command and the last events.
 */
export function runSimulation(options: SimulationOptions): SimulationReport {
  try {
    return new Simulation(options).run();
  } catch (error) {
    const keep = options.failureTrace ?? 60;
    const replay = new Simulation({ ...options, traceLines: keep });
    let replayed = 'the replay did NOT fail again: the run is not deterministic';
    try {
      replay.run();
    } catch (again) {
      replayed =
        withoutTimings((again as Error).message) === withoutTimings((error as Error).message)
          ? 'replayed identically'
          : `the replay failed differently: ${(again as Error).message}`;
    }
    const window = error instanceof LinearizabilityFailure ? error.window : null;
    const context = window
      ? [
          'client operations and faults around the conflict:',
          ...replay.trace.notesBetween(window[0], window[1]),
        ]
      : ['last events:', ...replay.trace.tail()];
    const at = (replay.queue.now / 1000).toFixed(3);
    throw new SimulationFailure(
      `simulation failed: seed=${options.seed} nodes=${options.nodes} ` +
        `profile=${options.profile ?? 'short'} at t=${at}ms (${replayed})\n` +
        `  ${(error as Error).message}\n` +
        `replay: ${replayCommand(options)}\n` +
        context.map((line) => `  ${line}`).join('\n'),
      { cause: error },
    );
  }
}

/**
 * A Raft message as the receiver gets it: encoded into a peer-mesh frame and decoded again with
 * the mesh's own codec (msgpack), so the core sees exactly what the wire delivers.
 */
function overTheWire(kind: FrameKind.OneWay | FrameKind.Request, method: string, message: Message) {
  const frame: Parameters<typeof encodeFrame>[0] =
    kind === FrameKind.OneWay ? [kind, method, message] : [kind, 1, method, message];
  const decoded = decodeRpcFrame(encodeFrame(frame));
  return decoded[decoded.length - 1] as Message;
}

/** Failure messages without wall-clock figures (the checker reports its elapsed time). */
function withoutTimings(message: string): string {
  return message.replace(/[\d.]+ ms\b/g, '… ms');
}

interface Timing {
  readonly chaosUs: number;
  readonly settleUs: number;
  readonly faultGapUs: readonly [number, number];
  readonly maxEvents: number;
}

const PROFILES: Record<Profile, Timing> = {
  short: {
    chaosUs: 2_000_000,
    settleUs: 8_000_000,
    faultGapUs: [30_000, 250_000],
    maxEvents: 400_000,
  },
  long: {
    chaosUs: 40_000_000,
    settleUs: 8_000_000,
    faultGapUs: [30_000, 400_000],
    maxEvents: 8_000_000,
  },
};

const MS = 1000;
const CLASS_NAMES = ['Alpha', 'alpha', 'ALPHA', 'Beta', 'Gamma'];
/** Log matching is O(nodes² · log) — checked every this many events, and at the end. */
const LOG_MATCHING_EVERY = 256;

class Simulation implements World {
  readonly queue = new EventQueue();
  readonly trace: Trace;
  readonly config: ServerConfig;
  readonly safety: SafetyChecker;
  readonly ids: readonly string[];
  readonly stats: WorldStats = {
    snapshotsTaken: 0,
    snapshotsInstalled: 0,
    snapshotsHeld: 0,
    compactions: 0,
    proposals: 0,
    proposalsDropped: 0,
    readStates: 0,
    quorumRefusals: 0,
    appliedNotVisible: 0,
    leadershipTransfers: 0,
  };
  private readonly hosts: Host[];
  private readonly net: Network;
  private readonly clients: Clients;
  private readonly timing: Timing;
  private readonly profile: Profile;
  private readonly faults: Rng;
  private readonly baseLink: LinkFaults;
  private readonly baseClockRates: number[];
  private counter = 0;
  private crashes = 0;
  private lostWrites = 0;
  private partitions = 0;
  private partitionGeneration = 0;
  private linkGeneration = 0;
  private chaos = true;
  private finished = false;
  private finalWrite: 'pending' | 'running' | 'done' = 'pending';
  private readonly dropRules = new Set<(message: Message) => boolean>();
  /**
   * Raft messages cross the mesh's msgpack codec (a third of the runs: it costs about a quarter
   * of the run time); otherwise the receiver gets the sender's object.
   */
  private readonly wireCodec: boolean;

  constructor(private readonly options: SimulationOptions) {
    const root = new Rng(options.seed >>> 0);
    const params = root.fork('params');
    this.profile = options.profile ?? 'short';
    this.timing = options.scenario
      ? { ...PROFILES[this.profile], chaosUs: options.scenario.durationMs * MS }
      : PROFILES[this.profile];
    this.trace = new Trace(options.traceLines ?? 0);
    this.faults = root.fork('faults');
    const snapshotEvery = params.pick([5, 10, 20]);
    this.config = {
      tickUs: 10 * MS,
      electionTicks: 10,
      heartbeatTicks: params.pick([1, 2, 3]),
      snapshotEvery,
      compactionMargin: params.pick([0, 2, snapshotEvery]),
      requestTimeoutUs: 500 * MS,
      fsyncUs: [200, params.pick([2 * MS, 8 * MS])],
      maxSizePerMsg: params.pick([1, 4096, 1 << 20]),
      maxInflightMsgs: params.pick([1, 4, 256]),
      leaderBarrier: true,
      readContexts: 'unique',
      ...options.server,
    };
    this.safety = new SafetyChecker(params.pick([2, 5, 11]));
    this.wireCodec = params.chance(1 / 3);
    this.baseLink = {
      drop: params.pick([0, 0.01, 0.05]),
      duplicate: params.pick([0, 0.01, 0.05]),
      minDelay: 100,
      maxDelay: params.pick([1 * MS, 3 * MS, 8 * MS]),
      spike: params.pick([0, 0.01, 0.03]),
      spikeDelay: 100 * MS,
    };
    this.ids = Array.from({ length: options.nodes }, (_, i) => `n${i + 1}`);
    this.net = new Network(this.queue, root.fork('network'), options.nodes);
    this.net.faults = this.baseLink;
    const bootstrap = bootstrapState(this.ids, new MetadataStateMachine().snapshot());
    this.hosts = this.ids.map(
      (id, i) =>
        new Host(i, id, new SimDisk(new MemoryStorage(bootstrap)), root.fork(`host-${id}`)),
    );
    this.baseClockRates = this.hosts.map(() => 0.97 + params.float() * 0.06);
    this.hosts.forEach((host, i) => (host.clockRate = this.baseClockRates[i]!));
    this.clients = new Clients(this.queue, this.trace, this.hosts, root.fork('clients'), {
      count: options.scenario ? 0 : options.nodes === 3 ? 3 : 4,
      classNames: CLASS_NAMES,
      thinkUs: [0, 30 * MS],
      backoffUs: [20 * MS, 100 * MS],
      eagerBackoffUs: [2 * MS, 10 * MS],
      latencyUs: [100, 1 * MS],
      timeoutUs: 2 * this.config.requestTimeoutUs + 10 * MS,
    });
  }

  // ---- World ------------------------------------------------------------------------------------

  unique(): number {
    return ++this.counter;
  }

  sendRaft(from: number, message: Message): boolean {
    const to = this.ids.indexOf(message.to);
    if (!this.hosts[to]!.alive) return false;
    for (const rule of this.dropRules) if (rule(message)) return true;
    const wire = this.wireCodec ? overTheWire(FrameKind.OneWay, RAFT_MESSAGE, message) : message;
    return this.net.send(from, to, () => this.hosts[to]!.server?.receive(wire), {
      duplicable: true,
    });
  }

  sendSnapshot(from: number, message: Message, report: (delivered: boolean) => void): void {
    const to = this.ids.indexOf(message.to);
    let reported = false;
    const once = (delivered: boolean): void => {
      if (reported) return;
      reported = true;
      report(delivered);
    };
    const wire = this.wireCodec
      ? overTheWire(FrameKind.Request, RAFT_SNAPSHOT_CHUNK, message)
      : message;
    this.net.send(
      from,
      to,
      () => {
        const server = this.hosts[to]!.server;
        if (server) server.receive(wire);
        // The transport's acknowledgement travels back.
        this.queue.after(this.net.faults.maxDelay, 'snapshotAck', from, () => once(!!server));
      },
      { duplicable: false, onLost: () => once(false) },
    );
  }

  callRpc(
    from: number,
    to: number,
    op: SchemaOperation,
    reply: (reply: RpcReply) => void,
  ): boolean {
    // The mesh knows when it has no connection to the peer: the request is then never sent.
    if (!this.hosts[to]!.alive) return false;
    return this.net.send(
      from,
      to,
      () => {
        const server = this.hosts[to]!.server;
        server?.accept('rpc', () =>
          server.onRpc(op, (answer) =>
            this.net.send(to, from, () => reply(answer), { duplicable: false }),
          ),
        );
      },
      { duplicable: false },
    );
  }

  writeStarted(server: Server, latency: number): void {
    const host = server.host;
    if (!host.crashDuringNextWrite) return;
    host.crashDuringNextWrite = false;
    this.queue.after(this.faults.int(0, latency - 1), 'crash', host.index, () => {
      if (host.server === server) this.crash(host);
    });
  }

  // ---- the run ----------------------------------------------------------------------------------

  run(): SimulationReport {
    for (const host of this.hosts) this.startServer(host);
    this.clients.start();
    if (this.options.scenario) this.options.scenario.run(this.control());
    else this.scheduleFault();
    this.queue.at(this.timing.chaosUs, 'heal', -1, () => this.endChaos());
    const deadline = this.timing.chaosUs + this.timing.settleUs;
    let events = 0;
    while (!this.finished) {
      const event = this.queue.pop();
      if (!event) throw new Error('the event queue ran dry');
      if (event.cancelled) continue;
      if (event.time > deadline) this.livenessFailure('the cluster did not settle in time');
      if (++events > this.timing.maxEvents) {
        throw new Error(`event budget of ${this.timing.maxEvents} exhausted`);
      }
      this.trace.event(event.time, event.kind, event.node);
      event.run();
      if (events % LOG_MATCHING_EVERY === 0) this.safety.checkLogMatching(this.servers());
    }
    const servers = this.servers();
    this.safety.checkLogMatching(servers);
    this.safety.checkConverged(servers);

    const model = schemaModel({ lookup: 'exact' });
    const operations = this.clients.recorder.operations();
    const verdict = checkLinearizable(model, operations, { timeoutMs: 20_000 });
    if (verdict.result === 'unknown') {
      throw new Error(
        `linearizability could not be verified (${verdict.gaveUp?.reason} on partition ` +
          `${verdict.gaveUp?.partition}): a failure to verify, not a pass`,
      );
    }
    if (verdict.result === 'illegal') {
      const example = verdict.counterexample;
      const window: [number, number] | null = example
        ? [
            Math.min(example.stuck.call, ...example.linearized.slice(-4).map((op) => op.call)) /
              1000,
            (Number.isFinite(example.stuck.return) ? example.stuck.return : example.stuck.call) /
              1000,
          ]
        : null;
      throw new LinearizabilityFailure(
        `history is not linearizable: ${describeResult(model, verdict)}`,
        window,
      );
    }
    const disks = this.hosts.map((host) => host.disk.stats);
    return {
      seed: this.options.seed,
      nodes: this.options.nodes,
      profile: this.profile,
      trace: this.trace.digest(),
      events,
      simulatedMs: Math.round(this.queue.now / MS),
      leadersElected: this.safety.leadersElected,
      highestCommitted: this.safety.highestCommitted,
      acknowledgedWrites: this.safety.acknowledgedWrites,
      crashes: this.crashes,
      lostWrites: this.lostWrites,
      commitBehindAtCrash: disks.reduce((sum, d) => sum + d.commitBehindAtCrash, 0),
      partitions: this.partitions,
      world: this.stats,
      network: this.net.stats,
      clients: this.clients.stats,
      linearizability: { result: verdict.result, operations: verdict.operations },
    };
  }

  private servers(): Server[] {
    return this.hosts.flatMap((host) => (host.server ? [host.server] : []));
  }

  private startServer(host: Host): void {
    host.stalledUntil = 0;
    const server = new Server(this, host);
    host.server = server;
    server.start();
    this.safety.observe(server);
  }

  /** Crashes the node; it restarts after `downUs` (random if not given; 0: stays down). */
  private crash(host: Host, downUs?: number): void {
    const server = host.server;
    if (!server) return;
    this.crashes++;
    host.crashes++;
    if (server.writeInFlight) this.lostWrites++;
    this.trace.note(
      this.queue.now,
      `CRASH n${host.index + 1}${server.writeInFlight ? ' (write in flight lost)' : ''}`,
    );
    host.disk.crashed(server.raft.status().commit);
    server.crash();
    host.server = null;
    host.incarnation++;
    const down = downUs ?? this.faults.int(1 * MS, 400 * MS);
    if (down === 0) return;
    this.queue.after(down, 'restart', host.index, () => {
      if (!host.server) this.startServer(host);
    });
  }

  // ---- scripted scenarios -----------------------------------------------------------------------

  private control(): ScenarioControl {
    return {
      ids: this.ids,
      hosts: this.hosts,
      when: (condition, action) => {
        const poll = (): void => {
          if (!this.chaos) return;
          if (condition()) action();
          else this.queue.after(1 * MS, 'when', -1, poll);
        };
        this.queue.after(0, 'when', -1, poll);
      },
      leader: () => this.leader(),
      crash: (node) => this.crash(this.hosts[node]!, 0),
      restart: (node) => {
        const host = this.hosts[node]!;
        if (!host.server) this.startServer(host);
      },
      dropIf: (rule) => {
        this.dropRules.add(rule);
        return () => this.dropRules.delete(rule);
      },
      invoke: (client, input, node, then) =>
        this.clients.invoke(client, input, then ?? (() => {}), node),
    };
  }

  // ---- the nemesis ------------------------------------------------------------------------------

  private scheduleFault(): void {
    const [lo, hi] = this.timing.faultGapUs;
    this.queue.after(this.faults.int(lo, hi), 'fault', -1, () => {
      if (!this.chaos) return;
      this.injectFault();
      this.scheduleFault();
    });
  }

  private injectFault(): void {
    const rng = this.faults;
    const n = this.hosts.length;
    const leader = this.leader();
    const kind = rng.weighted<string>([
      [3, 'crash'],
      [2, 'crashLeader'],
      [2, 'crashDuringWrite'],
      [0.3, 'crashAll'],
      [2, 'isolate'],
      [1.5, 'isolateLeader'],
      [2, 'split'],
      [1, 'oneWay'],
      [1, 'bridge'],
      [1.5, 'lossy'],
      [1, 'slowLink'],
      [1, 'clock'],
      [1, 'stall'],
      [1, 'slowDisk'],
      [1.5, 'restartGracefully'],
      [1, 'heal'],
    ]);
    const someNode = rng.int(0, n - 1);
    const note = (text: string) => this.trace.note(this.queue.now, `FAULT ${text}`);
    switch (kind) {
      case 'crash':
      case 'crashLeader': {
        const target = kind === 'crashLeader' && leader !== undefined ? leader : someNode;
        note(`crash n${target + 1}`);
        this.crash(this.hosts[target]!);
        return;
      }
      case 'crashDuringWrite': {
        const target = rng.pick([someNode, leader ?? someNode]);
        note(`n${target + 1} will crash during its next write`);
        this.hosts[target]!.crashDuringNextWrite = true;
        return;
      }
      case 'crashAll':
        note('crash every node');
        this.hosts.forEach((host) => this.crash(host));
        return;
      case 'isolate':
      case 'isolateLeader': {
        const target = kind === 'isolateLeader' && leader !== undefined ? leader : someNode;
        note(`isolate n${target + 1}`);
        this.partition([[target], this.others([target])]);
        return;
      }
      case 'split': {
        const order = rng.shuffle(this.hosts.map((h) => h.index));
        const cut = rng.int(1, n - 1);
        note(
          `split ${order.slice(0, cut).map((i) => i + 1)} | ${order.slice(cut).map((i) => i + 1)}`,
        );
        this.partition([order.slice(0, cut), order.slice(cut)]);
        return;
      }
      case 'oneWay': {
        // An asymmetric fault: `from` cannot reach some nodes, which still reach it.
        const from = rng.pick([someNode, leader ?? someNode]);
        const targets = this.others([from]).filter(() => rng.chance(0.6));
        note(`one-way n${from + 1} -/-> ${targets.map((t) => `n${t + 1}`).join(',')}`);
        this.partition([], () => targets.forEach((to) => this.net.block(from, to)));
        return;
      }
      case 'bridge': {
        // Two sides that only one node (the bridge) can talk to.
        const order = rng.shuffle(this.hosts.map((h) => h.index));
        const [bridge, ...rest] = order as [number, ...number[]];
        const cut = Math.max(1, Math.floor(rest.length / 2));
        note(
          `bridge n${bridge + 1} between ${rest.slice(0, cut).map((i) => i + 1)} | ${rest.slice(cut).map((i) => i + 1)}`,
        );
        this.partition([rest.slice(0, cut), rest.slice(cut)]);
        return;
      }
      case 'lossy': {
        const faults: LinkFaults = {
          drop: rng.pick([0.05, 0.2, 0.5]),
          duplicate: rng.pick([0, 0.05, 0.2]),
          minDelay: 100,
          maxDelay: rng.pick([2 * MS, 20 * MS, 60 * MS]),
          spike: rng.pick([0, 0.05, 0.2]),
          spikeDelay: 200 * MS,
        };
        note(`lossy network ${JSON.stringify(faults)}`);
        const generation = ++this.linkGeneration;
        this.net.faults = faults;
        this.queue.after(rng.int(50 * MS, 500 * MS), 'calm', -1, () => {
          if (this.linkGeneration === generation && this.chaos) this.net.faults = this.baseLink;
        });
        return;
      }
      case 'slowLink': {
        const to = rng.pick(this.others([someNode]));
        note(`slow link n${someNode + 1} -> n${to + 1}`);
        this.net.setLinkFaults(someNode, to, {
          ...this.baseLink,
          minDelay: 20 * MS,
          maxDelay: 150 * MS,
          drop: 0.2,
        });
        this.queue.after(rng.int(50 * MS, 600 * MS), 'calm', -1, () =>
          this.net.setLinkFaults(someNode, to, null),
        );
        return;
      }
      case 'clock': {
        const host = this.hosts[someNode]!;
        host.clockRate = rng.pick([0.5, 0.8, 1.25, 2]);
        note(`clock of n${someNode + 1} runs at ${host.clockRate}x`);
        this.queue.after(rng.int(100 * MS, 1000 * MS), 'clock', someNode, () => {
          host.clockRate = this.baseClockRates[someNode]!;
        });
        return;
      }
      case 'stall': {
        const host = this.hosts[someNode]!;
        if (!host.alive) return;
        host.stalledUntil = this.queue.now + rng.int(20 * MS, 400 * MS);
        note(`n${someNode + 1} paused until ${(host.stalledUntil / MS).toFixed(1)}ms`);
        return;
      }
      case 'slowDisk': {
        const host = this.hosts[someNode]!;
        host.diskSlowdown = rng.pick([5, 20, 60]);
        note(`disk of n${someNode + 1} ${host.diskSlowdown}x slower`);
        this.queue.after(rng.int(100 * MS, 800 * MS), 'disk', someNode, () => {
          host.diskSlowdown = 1;
        });
        return;
      }
      case 'restartGracefully': {
        // A rolling restart: the leader (usually) hands leadership over before it stops.
        const host = this.hosts[rng.pick([someNode, leader ?? someNode, leader ?? someNode])]!;
        const server = host.server;
        if (!server) return;
        note(`n${host.index + 1} restarts gracefully`);
        server.stopGracefully(() => {
          if (host.server === server) this.crash(host, this.faults.int(1 * MS, 100 * MS));
        });
        return;
      }
      case 'heal':
        note('heal');
        this.net.heal();
        return;
    }
  }

  private others(nodes: readonly number[]): number[] {
    return this.hosts.map((h) => h.index).filter((i) => !nodes.includes(i));
  }

  /** Replaces the current partition; healed after a while unless replaced again. */
  private partition(groups: number[][], custom?: () => void): void {
    this.partitions++;
    const generation = ++this.partitionGeneration;
    this.net.heal();
    if (custom) custom();
    else this.net.partition(groups);
    this.queue.after(this.faults.int(50 * MS, 700 * MS), 'healPartition', -1, () => {
      if (this.partitionGeneration === generation) this.net.heal();
    });
  }

  /** The leader of the highest term, if any. */
  private leader(): number | undefined {
    let best: { index: number; term: number } | undefined;
    for (const server of this.servers()) {
      const s = server.raft.status();
      if (s.role === 'leader' && (!best || s.term > best.term))
        best = { index: server.index, term: s.term };
    }
    return best?.index;
  }

  // ---- settling -----------------------------------------------------------------------------------

  private endChaos(): void {
    this.chaos = false;
    this.trace.note(this.queue.now, 'HEAL everything; clients stop');
    this.partitionGeneration++;
    this.linkGeneration++;
    this.net.heal();
    this.net.faults = CALM_LINK;
    this.dropRules.clear();
    this.hosts.forEach((host, i) => {
      host.crashDuringNextWrite = false;
      host.clockRate = this.baseClockRates[i]!;
      host.diskSlowdown = 1;
      host.stalledUntil = 0;
      if (!host.server) this.startServer(host);
    });
    this.clients.stop();
    this.queue.after(10 * MS, 'settle', -1, () => this.settle());
  }

  private settle(): void {
    if (this.clients.inFlight === 0 && this.finalWrite === 'pending') this.startFinalWrite();
    if (this.finalWrite === 'done' && this.converged()) {
      this.finished = true;
      return;
    }
    this.queue.after(10 * MS, 'settle', -1, () => this.settle());
  }

  /** Liveness: with everything healed, a write must succeed (retried while refused/unknown). */
  private startFinalWrite(): void {
    this.finalWrite = 'running';
    const attempt = (): void => {
      const input = {
        f: 'create' as const,
        name: 'Omega',
        description: `final-${this.options.seed}`,
      };
      this.clients.invoke('final', input, (outcome: Outcome) => {
        if (outcome.kind === 'ok') {
          const output = outcome.output;
          if (!output.ok && output.error !== 'exists') {
            throw new Error(`final write answered ${JSON.stringify(output)}`);
          }
          this.finalWrite = 'done';
        } else {
          this.queue.after(20 * MS, 'finalRetry', -1, attempt);
        }
      });
    };
    attempt();
  }

  private converged(): boolean {
    const servers = this.servers();
    if (servers.length !== this.hosts.length) return false;
    const statuses = servers.map((s) => s.raft.status());
    const leaders = statuses.filter((s) => s.role === 'leader');
    if (leaders.length !== 1) return false;
    const leader = leaders[0]!;
    return statuses.every(
      (s, i) =>
        s.leader === leader.id &&
        s.term === leader.term &&
        s.commit === leader.commit &&
        servers[i]!.applied === leader.commit &&
        s.lastIndex === leader.lastIndex,
    );
  }

  private livenessFailure(what: string): never {
    const nodes = this.hosts.map((host) => {
      const server = host.server;
      if (!server) return `${host.id}: down`;
      const s = server.raft.status();
      return `${host.id}: ${s.role} term=${s.term} leader=${s.leader} commit=${s.commit} applied=${server.applied} last=${s.lastIndex}`;
    });
    throw new Error(
      `liveness: ${what} (final write ${this.finalWrite}, clients in flight ` +
        `${this.clients.inFlight}); ${nodes.join('; ')}`,
    );
  }
}
