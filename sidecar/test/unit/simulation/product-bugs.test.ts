/**
 * Product bugs the simulation found, each as a minimal deterministic reproduction. Both were
 * found against the code this suite started from (commit c13bd4d); the working tree has since
 * been fixed along the lines proposed, so these are regression tests: they pass now, and fail
 * against the old code (bug 2 checked by running it against c13bd4d's raft-driver.ts; bug 1
 * through the simulated node's switch that restores the old behaviour).
 */
import { Registry } from 'prom-client';
import { pino } from 'pino';
import {
  MemoryStorage,
  bootstrapState,
  type Message,
  type RaftNodeStatus,
} from '../../../src/raft/core/index.js';
import { RaftDriver, type StateMachine } from '../../../src/raft/driver/raft-driver.js';
import { RaftMetrics } from '../../../src/raft/driver/raft-metrics.js';
import type {
  ConfState,
  DurableRaftLog,
  Entry,
  HardState,
  Snapshot,
} from '../../../src/raft/types.js';
import { runSimulation, type Scenario } from './sim/simulation.js';
import type { Outcome } from './sim/server.js';

// -------------------------------------------------------------------------------------------------
// Bug 1 — a leader answered 404 / 422 "exists" from a state machine lagging its commit index.
//
// ClusterMetadata.executeAsLeader (sidecar/src/schema/cluster-metadata.ts at c13bd4d) validated
// a change against `this.store.current` — whatever the leader had APPLIED — and answered
// buildCommand's 404 ("class not found") and precheck's 422 ("already exists") at once, without
// going through Raft. A node that has just won an election has not applied (often not even
// learned as committed) what its predecessor committed and acknowledged; a deposed leader that
// does not know it yet is stale the same way. Such a node answered a request invoked AFTER a
// change was acknowledged as if the change had not happened: update after an acknowledged create
// → 404; create after an acknowledged delete → 422 "exists". Not linearizable.
//
// Found by the seed sweep (SIM_SEED=195, 3 nodes, in the first version of this simulator): a
// leader restarted and re-elected with applied=7 answered create(ALPHA) → "exists" although
// delete(ALPHA) had been acknowledged at index 8; a later read found no such class.
//
// Fix (now in the working tree, as proposed): executeAsLeader runs the ReadIndex barrier before
// buildCommand/precheck. It waits until the leader has committed an entry of its term, confirms
// leadership with a quorum and waits until the state machine has applied that commit index, so
// an early answer takes effect at the barrier. The simulated node mirrors it; `leaderBarrier:
// false` restores the old behaviour.
// -------------------------------------------------------------------------------------------------

/**
 * n1 leads and acknowledges create(Alpha), but its commit index never reaches n2 and n3; n1
 * crashes. The new leader holds the entry, yet cannot commit anything of its term (its follower's
 * acknowledgements are lost, heartbeats still flow, so it sees a quorum): update(Alpha) reaches it.
 */
function staleLeaderScenario(seen: { update?: Outcome; leader?: string }): Scenario {
  return {
    durationMs: 3000,
    run(sim) {
      sim.hosts[0]!.clockRate = 3; // n1 times out first and wins the first election
      const status = (node: number): RaftNodeStatus | undefined =>
        sim.hosts[node]!.server?.raft.status();
      sim.when(
        () => sim.leader() === 0 && status(0)!.commit >= 2,
        () => {
          const base = status(0)!.commit;
          sim.dropIf(
            (m) =>
              m.from === 'n1' && (m.type === 'append' || m.type === 'heartbeat') && m.commit > base,
          );
          sim.invoke('s1', { f: 'create', name: 'Alpha', description: 'v1' }, 0, (created) => {
            if (created.kind !== 'ok') throw new Error(`create failed: ${JSON.stringify(created)}`);
            sim.crash(0);
            sim.when(
              () => sim.leader() !== undefined && sim.leader() !== 0,
              () => {
                const leader = sim.leader()!;
                const follower = leader === 1 ? 2 : 1;
                const [leaderId, followerId] = [sim.ids[leader]!, sim.ids[follower]!];
                seen.leader = leaderId;
                sim.dropIf(
                  (m: Message) =>
                    m.from === followerId && m.to === leaderId && m.type === 'appendResp',
                );
                sim.when(
                  () => status(leader)?.progress?.[followerId]?.recentActive === true,
                  () =>
                    sim.invoke(
                      's1',
                      { f: 'update', name: 'Alpha', description: 'v2' },
                      leader,
                      (outcome) => (seen.update = outcome),
                    ),
                );
              },
            );
          });
        },
      );
    },
  };
}

describe('bug 1: early answers from a stale leader state machine', () => {
  it('the new leader runs a barrier first and does not answer from its stale state', () => {
    const seen: { update?: Outcome; leader?: string } = {};
    runSimulation({ seed: 1, nodes: 3, scenario: staleLeaderScenario(seen) });
    expect(seen.leader).toBeDefined();
    // It cannot commit an entry of its term, so the barrier times out: nothing was applied.
    expect(seen.update).toMatchObject({ kind: 'rejected' });
  });

  it('the earlier behaviour (no barrier) answers 404 and is caught as not linearizable', () => {
    const seen: { update?: Outcome; leader?: string } = {};
    expect(() =>
      runSimulation({
        seed: 1,
        nodes: 3,
        scenario: staleLeaderScenario(seen),
        server: { leaderBarrier: false },
      }),
    ).toThrow(
      /history is not linearizable[\s\S]*cannot place: client s1 .* update\(Alpha, "v2"\) -> not_found/,
    );
    expect(seen.update).toMatchObject({ kind: 'ok', output: { ok: false, error: 'not_found' } });
  });
});

// -------------------------------------------------------------------------------------------------
// Bug 2 — ReadIndex contexts were reused across restarts, so a restarted node could serve a read
// with the read index of a request its previous process had sent: a stale read.
//
// RaftDriver.readBarrier (sidecar/src/raft/driver/raft-driver.ts at c13bd4d) named each request
// `${id}/${++this.readCounter}`, the counter starting at 0 in every process. The leader answers a
// follower's ReadIndex request with readIndexResp { context, index } addressed to the node NAME,
// so an answer to the dead process's `b/1` arriving after the restart (it waited for the
// leader's heartbeat round, or in a queue or a slow connection) resolved the new process's `b/1`
// with the leader's commit index from when the OLD request arrived: writes acknowledged since
// then — before the new read was even invoked — were missing from what it read.
//
// The seed sweeps did not hit the window by chance (the old answer must arrive while a new read
// with the same number is pending on a node that has not applied the newer write); the test
// below drives the real RaftDriver through it message by message. Against c13bd4d's driver it
// fails: the read is served at index 2, before the acknowledged write at index 3.
//
// Fix (now in the working tree, as proposed): contexts carry a random per-process prefix,
// `${id}/${readPrefix}/${counter}`; an answer for an unknown context is ignored.
// -------------------------------------------------------------------------------------------------

/** MemoryStorage with the driver's durable-mutation interface (writes complete at once). */
class MemoryDriverStorage implements DurableRaftLog {
  constructor(readonly memory: MemoryStorage) {}
  initialState(): { hardState: HardState; confState: ConfState } {
    return this.memory.initialState();
  }
  entries(lo: number, hi: number, maxBytes?: number): Entry[] {
    return this.memory.entries(lo, hi, maxBytes);
  }
  term(index: number): number {
    return this.memory.term(index);
  }
  firstIndex(): number {
    return this.memory.firstIndex();
  }
  lastIndex(): number {
    return this.memory.lastIndex();
  }
  snapshot(): Snapshot {
    return this.memory.snapshot();
  }
  async save(update: {
    hardState?: HardState;
    entries?: readonly Entry[];
    snapshot?: Snapshot;
  }): Promise<void> {
    if (update.snapshot) this.memory.applySnapshot(update.snapshot);
    if (update.entries) this.memory.append(update.entries);
    if (update.hardState) this.memory.setHardState(update.hardState);
  }
  async createSnapshot(index: number, conf: ConfState, data: Buffer): Promise<Snapshot> {
    return this.memory.createSnapshot(index, conf, data);
  }
  async compact(index: number): Promise<void> {
    this.memory.compact(index);
  }
}

/** The applied payloads, in order. */
class ListMachine implements StateMachine {
  applied: string[] = [];
  apply(_index: number, data: Buffer): unknown {
    if (data.length > 0) this.applied.push(data.toString());
    return null;
  }
  snapshot(): Buffer {
    return Buffer.from(JSON.stringify(this.applied));
  }
  restore(data: Buffer): void {
    this.applied = data.length > 0 ? (JSON.parse(data.toString()) as string[]) : [];
  }
}

/** Three real RaftDrivers over a network that delivers only what the test says. */
class DriverCluster {
  readonly outbox: Message[] = [];
  readonly drivers = new Map<string, RaftDriver>();
  readonly machines = new Map<string, ListMachine>();
  private readonly storages = new Map<string, MemoryDriverStorage>();

  constructor(readonly ids: readonly string[]) {
    const bootstrap = bootstrapState(ids);
    for (const id of ids)
      this.storages.set(id, new MemoryDriverStorage(new MemoryStorage(bootstrap)));
    for (const id of ids) this.start(id);
  }

  /** A fresh process over the node's storage (the old one must be stopped). Never ticks. */
  start(id: string): RaftDriver {
    const machine = new ListMachine();
    const driver = new RaftDriver({
      id,
      storage: this.storages.get(id)!,
      stateMachine: machine,
      transport: {
        send: (message) => {
          this.outbox.push(message);
          return true;
        },
        sendSnapshot: async () => false,
      },
      timing: { tickMs: 60_000, electionTicks: 10, heartbeatTicks: 1 },
      snapshotEvery: 1000,
      compactionMargin: 0,
      logger: pino({ level: 'silent' }),
      metrics: new RaftMetrics(new Registry(), () => null),
      onFatal: (error) => {
        throw error;
      },
      random: () => 0.5,
    });
    this.drivers.set(id, driver);
    this.machines.set(id, machine);
    return driver;
  }

  driver(id: string): RaftDriver {
    return this.drivers.get(id)!;
  }

  /** Lets the drivers run their Ready loops (setImmediate + storage promises). */
  async settle(): Promise<void> {
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
  }

  /** Takes the queued messages matching `rule` out of the outbox. */
  take(rule: (m: Message) => boolean): Message[] {
    const taken = this.outbox.filter(rule);
    const kept = this.outbox.filter((m) => !rule(m));
    this.outbox.length = 0;
    this.outbox.push(...kept);
    return taken;
  }

  /** Delivers matching messages, and what they cause, until none is left. */
  async deliver(rule: (m: Message) => boolean = () => true): Promise<void> {
    for (;;) {
      await this.settle();
      const batch = this.take(rule);
      if (batch.length === 0) return;
      for (const m of batch) this.driver(m.to).receive(m, m.from);
    }
  }
}

describe('bug 2: ReadIndex contexts reused after a restart', () => {
  it('a read on a restarted follower sees a write acknowledged before it', async () => {
    const c = new DriverCluster(['a', 'b', 'c']);
    // a campaigns at once (as if b had handed leadership over) and wins term 2.
    c.driver('a').receive({ type: 'timeoutNow', from: 'b', to: 'a', term: 1 }, 'b');
    await c.deliver();
    expect(c.driver('a').status().role).toBe('leader');
    const before = c.driver('a').status().commit;

    // b's first read: the leader confirms its leadership with c and answers at `before`; the
    // answer is still on its way when b crashes.
    const oldRead = c.driver('b').readBarrier(200);
    await c.deliver((m) => m.from === 'b' && m.type === 'readIndex');
    await c.deliver((m) => m.to !== 'b' && m.from !== 'b');
    const [lateAnswer] = c.take((m) => m.to === 'b' && m.type === 'readIndexResp');
    expect(lateAnswer).toMatchObject({ type: 'readIndexResp', index: before });
    c.take((m) => m.to === 'b' || m.from === 'b');
    await c.driver('b').stop();
    await expect(oldRead).rejects.toThrow(); // that client gives up; fine

    // A write W is acknowledged by the leader (committed with c) while b is down.
    const write = c.driver('a').propose<unknown>(Buffer.from('W'), 5000);
    await c.deliver((m) => m.to !== 'b' && m.from !== 'b');
    const { index: writeIndex } = await write;
    expect(writeIndex).toBeGreaterThan(before);

    // b restarts. It hears from the leader (an append of W that still carries the old commit
    // index, so b does not apply W yet), and a client reads through it.
    c.start('b');
    const appendOfW = c.take((m) => m.to === 'b' && m.type === 'append')[0]!;
    c.driver('b').receive(appendOfW, 'a');
    await c.settle();
    const newRead = c
      .driver('b')
      .readBarrier(5000)
      .then((index) => ({ index, sawW: c.machines.get('b')!.applied.includes('W') }));
    await c.settle();
    const slow = c.take((m) => m.from === 'b'); // b's new request (and ack) are slow to arrive

    // The previous process's answer arrives first; then everything else.
    c.driver('b').receive(lateAnswer!, 'a');
    await c.settle();
    c.outbox.push(...slow);
    await c.deliver();
    // Linearizability: a read invoked after W was acknowledged must see W.
    const read = await newRead;
    expect(read.index).toBeGreaterThanOrEqual(writeIndex);
    expect(read.sawW).toBe(true);
  });
});
