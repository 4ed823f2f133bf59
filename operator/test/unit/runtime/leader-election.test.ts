import { describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import { ApiException } from '@kubernetes/client-node';
import type { LeaseClient, LeaseSnapshot } from '../../../src/runtime/lease-client.js';
import type { LeaseRecord } from '../../../src/runtime/lease-decision.js';
import { LeaderElector } from '../../../src/runtime/leader-election.js';
import { FakeClock, settle } from './support/fake-clock.js';
import { captureLogger } from './support/log-capture.js';

/** One Lease in memory, with resourceVersion checks like the API server's. */
class FakeLeaseStore {
  lease: LeaseSnapshot | undefined;
  private version = 0;
  /** While set, every call fails like an unreachable API server. */
  down = false;
  /** While set, every call hangs like a stalled connection. */
  hang = false;
  /** Updates that lose a race: someone else writes between our read and our write. */
  racingWrites = 0;

  client(): LeaseClient {
    const check = async (): Promise<void> => {
      if (this.hang) await new Promise(() => {});
      if (this.down) throw new Error('connect ECONNREFUSED');
    };
    return {
      get: async () => {
        await check();
        return this.lease && structuredClone(this.lease);
      },
      create: async (record) => {
        await check();
        if (this.lease) throw new ApiException(409, 'AlreadyExists', {}, {});
        return this.write(record);
      },
      update: async (record, resourceVersion) => {
        await check();
        if (this.racingWrites > 0) {
          this.racingWrites--;
          this.write(this.lease!.record);
        }
        if (this.lease?.resourceVersion !== resourceVersion) {
          throw new ApiException(409, 'Conflict', {}, {});
        }
        return this.write(record);
      },
    };
  }

  write(record: LeaseRecord): LeaseSnapshot {
    this.lease = { record: { ...record }, resourceVersion: String(++this.version) };
    return structuredClone(this.lease);
  }
}

function candidate(
  store: FakeLeaseStore,
  clock: FakeClock,
  identity: string,
  registry = new Registry(),
) {
  const events: string[] = [];
  const elector = new LeaderElector({
    name: 'quorumstore-operator',
    identity,
    lease: store.client(),
    logger: captureLogger().logger,
    registry,
    clock,
    random: () => 0,
  });
  const done = elector.run({
    onStartedLeading: () => events.push('started'),
    onStoppedLeading: () => events.push('stopped'),
    onNewLeader: (leader) => events.push(`leader:${leader}`),
  });
  return { elector, events, done, registry };
}

const leaderStatus = async (registry: Registry): Promise<string | undefined> =>
  (await registry.metrics())
    .split('\n')
    .find((line) => line.startsWith('leader_election_master_status{'));

describe('LeaderElector', () => {
  it('creates the Lease and leads, reporting leader_election_master_status 1', async () => {
    const clock = new FakeClock();
    const store = new FakeLeaseStore();
    const a = candidate(store, clock, 'a');
    await settle();
    expect(a.elector.isLeader()).toBe(true);
    expect(a.events).toEqual(['leader:a', 'started']);
    expect(store.lease?.record).toMatchObject({ holderIdentity: 'a', leaseDurationSeconds: 15 });
    expect(await leaderStatus(a.registry)).toBe(
      'leader_election_master_status{name="quorumstore-operator"} 1',
    );
    await clock.advance(2_000);
    expect(store.lease?.record.renewTimeMs).toBe(clock.now());
    await a.elector.stop();
    await a.done;
  });

  it('keeps a standby waiting while the leader renews, and ready as a standby', async () => {
    const clock = new FakeClock();
    const store = new FakeLeaseStore();
    const a = candidate(store, clock, 'a');
    await settle();
    const b = candidate(store, clock, 'b');
    await clock.advance(60_000);
    expect(a.elector.isLeader()).toBe(true);
    expect(b.elector.isLeader()).toBe(false);
    expect(b.elector.hasObservedLease()).toBe(true);
    expect(b.elector.currentLeader()).toBe('a');
    expect(await leaderStatus(b.registry)).toBe(
      'leader_election_master_status{name="quorumstore-operator"} 0',
    );
    await b.elector.stop();
    await a.elector.stop();
  });

  it('takes over once the leader stops renewing for a lease duration', async () => {
    const clock = new FakeClock();
    const store = new FakeLeaseStore();
    store.write({
      holderIdentity: 'crashed',
      leaseDurationSeconds: 15,
      acquireTimeMs: 0,
      renewTimeMs: 0,
      leaseTransitions: 2,
    });
    const b = candidate(store, clock, 'b');
    await clock.advance(14_000);
    expect(b.elector.isLeader()).toBe(false);
    await clock.advance(2_000);
    expect(b.elector.isLeader()).toBe(true);
    expect(store.lease?.record).toMatchObject({ holderIdentity: 'b', leaseTransitions: 3 });
    await b.elector.stop();
  });

  it('gives up leadership when it cannot renew within renewDeadline', async () => {
    const clock = new FakeClock();
    const store = new FakeLeaseStore();
    const a = candidate(store, clock, 'a');
    await settle();
    store.down = true;
    await clock.advance(9_000);
    expect(a.elector.isLeader()).toBe(true);
    await clock.advance(1_000);
    expect(a.elector.isLeader()).toBe(false);
    expect(a.events).toEqual(['leader:a', 'started', 'stopped']);
    await a.done;
  });

  it('stops leading at once when another identity holds the Lease', async () => {
    const clock = new FakeClock();
    const store = new FakeLeaseStore();
    const a = candidate(store, clock, 'a');
    await settle();
    store.write({ ...store.lease!.record, holderIdentity: 'usurper' });
    await clock.advance(2_000);
    expect(a.events).toEqual(['leader:a', 'started', 'leader:usurper', 'stopped']);
    await a.done;
  });

  it('retries after a conflicting write instead of failing', async () => {
    const clock = new FakeClock();
    const store = new FakeLeaseStore();
    const a = candidate(store, clock, 'a');
    await settle();
    store.racingWrites = 2;
    await clock.advance(6_000);
    expect(store.racingWrites).toBe(0);
    expect(a.elector.isLeader()).toBe(true);
    expect(store.lease?.record).toMatchObject({ holderIdentity: 'a', renewTimeMs: clock.now() });
    await a.elector.stop();
  });

  it('bounds a hanging renewal by the renew deadline', async () => {
    const clock = new FakeClock();
    const store = new FakeLeaseStore();
    const a = candidate(store, clock, 'a');
    await settle();
    store.hang = true;
    await clock.advance(9_999);
    expect(a.elector.isLeader()).toBe(true);
    await clock.advance(1);
    expect(a.events).toEqual(['leader:a', 'started', 'stopped']);
    await a.done;
  });

  it('releases the Lease on stop so a standby takes over within about a second', async () => {
    const clock = new FakeClock();
    const store = new FakeLeaseStore();
    const a = candidate(store, clock, 'a');
    await settle();
    const b = candidate(store, clock, 'b');
    await clock.advance(4_000);
    await a.elector.stop();
    await a.done;
    expect(a.events).not.toContain('stopped');
    expect(store.lease?.record).toMatchObject({ holderIdentity: '', leaseDurationSeconds: 1 });
    await clock.advance(2_000);
    expect(b.elector.isLeader()).toBe(true);
    await b.elector.stop();
  });

  it('refuses timings that cannot be safe', () => {
    const base = {
      name: 'x',
      identity: 'a',
      lease: new FakeLeaseStore().client(),
      logger: captureLogger().logger,
    };
    expect(
      () => new LeaderElector({ ...base, leaseDurationMs: 10_000, renewDeadlineMs: 10_000 }),
    ).toThrow(/leaseDurationMs/);
    expect(
      () => new LeaderElector({ ...base, renewDeadlineMs: 2_000, retryPeriodMs: 2_000 }),
    ).toThrow(/renewDeadlineMs/);
    expect(() => new LeaderElector({ ...base, identity: '' })).toThrow(/identity/);
  });
});
