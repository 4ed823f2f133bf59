/**
 * Log replication: the commit rule (Figure 8), conflict resolution with fast back-off, catching
 * up a lagging follower with a snapshot, flow control, and proposal admission.
 */
import {
  RequestRejectedError,
  type AppendMessage,
  type Message,
} from '../../../src/raft/core/index.js';
import { Cluster, storageWithLog } from './harness.js';

const ABC = ['a', 'b', 'c'];

function electedCluster(options: Partial<ConstructorParameters<typeof Cluster>[0]> = {}): Cluster {
  const c = new Cluster({ voters: ABC, ...options });
  c.campaign('a');
  c.stabilize();
  return c;
}

function isAppend(m: Message): m is AppendMessage {
  return m.type === 'append';
}

describe('commit rule (Raft §5.4.2, Figure 8)', () => {
  const S = ['s1', 's2', 's3', 's4', 's5'];

  /**
   * Drives the Figure 8 history (indices shifted by the bootstrap entry and the no-op of term 2):
   *  (a) s1 leads term 2 and replicates entry 3 ("x", term 2) to s2 only.
   *  (b) s5 is elected for term 3 by s3, s4, s5 and appends entry 3 of term 3, which nobody gets.
   *  (c) s1 restarts, is elected for term 4, and gets entry 3 (term 2) onto s3: now on a
   *      majority (s1, s2, s3). Its term-4 no-op (entry 4) reaches s2 but not s3.
   * Pure Raft (no pre-vote/check-quorum), one entry per append message.
   */
  function figure8(): Cluster {
    const c = new Cluster({ voters: S, preVote: false, checkQuorum: false, maxSizePerMsg: 0 });
    c.campaign('s1');
    c.stabilize();

    c.partition(['s1', 's2'], ['s3', 's4', 's5']);
    expect(c.propose('s1', 'x')).toMatchObject({ index: 3, term: 2 });
    c.stabilize();

    c.heal();
    c.isolate('s1');
    const s5AppendsLost = c.dropIf((m) => m.from === 's5' && isAppend(m));
    c.campaign('s5');
    c.stabilize();
    expect(c.status('s5')).toMatchObject({ role: 'leader', term: 3 });
    expect(c.node('s5').termAt(3)).toBe(3);
    s5AppendsLost();

    c.heal();
    c.isolate('s5');
    c.restart('s1');
    // s3 accepts entry 3 but every append that would give it entry 4 is lost; s4 gets nothing.
    const restrictS1 = c.dropIf(
      (m) =>
        isAppend(m) &&
        m.from === 's1' &&
        (m.to === 's4' ||
          (m.to === 's3' && c.node('s3').termAt(3) === 2 && m.entries.some((e) => e.index === 4))),
    );
    c.campaign('s1'); // term 3: s3 and s4 already voted for s5
    c.stabilize();
    c.campaign('s1'); // term 4
    c.stabilize();
    restrictS1();
    expect(c.status('s1')).toMatchObject({ role: 'leader', term: 4, lastIndex: 4 });
    return c;
  }

  it('does not commit an earlier-term entry by counting replicas', () => {
    const c = figure8();
    const holders = S.filter((id) => c.node(id).termAt(3) === 2);
    expect(holders).toEqual(['s1', 's2', 's3']); // a majority of five
    expect(c.status('s1').progress).toMatchObject({ s2: { match: 4 }, s3: { match: 3 } });
    expect(c.status('s1').commit).toBe(2);
  });

  it('so the entry may be overwritten safely when a newer leader lacks it', () => {
    const c = figure8();
    c.heal();
    c.isolate('s1');
    c.restart('s5');
    c.campaign('s5'); // term 4: everyone voted already
    c.stabilize();
    c.campaign('s5'); // term 5: s3 and s4 vote for s5's log (3@3 beats 3@2)
    c.stabilize();
    expect(c.status('s5')).toMatchObject({ role: 'leader', term: 5 });
    for (const id of ['s2', 's3', 's4', 's5']) expect(c.node(id).termAt(3)).toBe(3);
    for (const id of S) expect(c.sim(id).state).not.toContain('3:x');
    c.checkLogMatching();
  });

  it('commits it indirectly once an entry of the current term reaches a majority', () => {
    const c = figure8();
    c.tick('s1'); // heartbeat: s3 answers and receives entry 4
    c.stabilize();
    expect(c.status('s1').commit).toBe(4);
    expect(c.sim('s1').state).toEqual(['3:x']);

    // Now s5 can never win: a majority holds a newer log than its 3@3.
    c.heal();
    c.isolate('s1');
    c.restart('s5');
    for (let i = 0; i < 3; i++) {
      c.campaign('s5');
      c.stabilize();
    }
    expect(c.status('s5').role).not.toBe('leader');
    expect(c.countDelivered((m) => m.type === 'voteResp' && m.to === 's5')).toBeGreaterThan(0);
    for (const id of ['s2', 's3']) expect(c.node(id).termAt(3)).toBe(2);
  });
});

describe('log conflict resolution with fast back-off', () => {
  const repeat = (term: number, n: number) => Array<number>(n).fill(term);

  // Terms of entries 2, 3, …; the log at index 1 is the bootstrap snapshot (term 1).
  it.each([
    {
      shape: 'follower tail of older terms: the leader skips its own newer terms',
      leader: [1, 1, 1, ...repeat(4, 20), ...repeat(5, 20), ...repeat(6, 20)],
      follower: [1, 1, 1, ...repeat(2, 30), ...repeat(3, 40)],
    },
    {
      shape: 'follower tail of newer terms: the follower skips them in its hint',
      leader: [1, ...repeat(3, 60), 7],
      follower: [1, 3, 3, ...repeat(4, 20), ...repeat(5, 20), ...repeat(6, 20)],
    },
  ])('converges in O(terms) round trips — $shape', ({ leader, follower }) => {
    const voters = ['l', 'f', 'x'];
    const c = new Cluster({
      voters,
      storage: {
        l: storageWithLog(voters, leader),
        x: storageWithLog(voters, leader),
        f: storageWithLog(voters, follower),
      },
    });
    const divergent = follower.findIndex((term, i) => term !== leader[i]);
    expect(follower.length - divergent).toBeGreaterThan(50); // entry-by-entry probing: > 50 trips

    c.campaign('l');
    c.stabilize();
    expect(c.leader()).toBe('l');
    const rejections = c.countDelivered((m) => m.type === 'appendResp' && m.reject);
    expect(rejections).toBeGreaterThanOrEqual(1);
    expect(rejections).toBeLessThanOrEqual(2);
    expect(c.logTerms('f')).toEqual(c.logTerms('l'));
    c.checkLogMatching();
  });
});

describe('snapshots', () => {
  /** c misses 20 entries, and the leader compacts them away. */
  function laggingFollowerAfterCompaction(): Cluster {
    const c = electedCluster();
    c.isolate('c');
    for (let i = 0; i < 20; i++) c.propose('a', `v${i}`);
    c.stabilize();
    c.compact('a');
    expect(c.status('a')).toMatchObject({ commit: 22, firstIndex: 23 });
    c.heal();
    return c;
  }

  it('catches a lagging follower up with the leader snapshot after compaction', () => {
    const c = laggingFollowerAfterCompaction();
    c.tickAll(1); // heartbeat → c answers → the leader finds c needs compacted entries
    c.stabilize();
    expect(c.countDelivered((m) => m.type === 'snapshot' && m.to === 'c')).toBe(1);
    expect(c.sim('c').storage.snapshot().metadata.index).toBe(22);
    expect(c.sim('c').state).toEqual(c.sim('a').state);
    expect(c.status('a').progress?.c).toMatchObject({ state: 'replicate', match: 22 });

    c.propose('a', 'after');
    c.stabilize();
    expect(c.sim('c').state.at(-1)).toBe('23:after');
    c.checkLogMatching();
  });

  it('resends a lost snapshot once it is presumed lost', () => {
    const c = laggingFollowerAfterCompaction();
    let lost = 0;
    const loseFirst = c.dropIf((m) => m.type === 'snapshot' && lost++ === 0);
    const rounds = c.tickUntil(() => c.status('c').applied === 22, 100);
    loseFirst();
    expect(lost).toBe(2);
    expect(rounds).toBeLessThanOrEqual(30); // within two check-quorum intervals
    expect(c.sim('c').state).toEqual(c.sim('a').state);
  });

  it('retries at once when the driver reports the snapshot undelivered', () => {
    const c = laggingFollowerAfterCompaction();
    const loseAll = c.dropIf((m) => m.type === 'snapshot');
    c.tickAll(1);
    expect(c.status('a').progress?.c?.state).toBe('snapshot');
    loseAll();
    c.node('a').reportSnapshot('c', false);
    c.tickAll(2);
    expect(c.status('c').applied).toBe(22);
  });
});

describe('flow control', () => {
  it('keeps at most maxInflightMsgs appends in flight to a replicating follower', () => {
    const c = electedCluster({ maxInflightMsgs: 2, maxSizePerMsg: 0 });
    for (let i = 0; i < 10; i++) c.propose('a', `v${i}`);
    c.processReadies();
    const inFlightToB = () => c.inFlight.filter((m) => isAppend(m) && m.to === 'b').length;
    expect(inFlightToB()).toBe(2);
    expect(c.status('a').progress?.b).toMatchObject({ state: 'replicate', inflight: 2 });
    let maxSeen = 0;
    while (c.inFlight.length > 0 || c.processReadies()) {
      maxSeen = Math.max(maxSeen, c.status('a').progress!.b!.inflight);
      c.deliverAll();
      c.processReadies();
    }
    expect(maxSeen).toBe(2);
    expect(c.sim('b').state).toHaveLength(10);
  });

  it('refuses proposals beyond maxUncommittedEntriesSize until the tail commits', () => {
    const c = electedCluster({ maxUncommittedEntriesSize: 10 });
    c.isolate('a');
    c.propose('a', '12345');
    c.propose('a', '67890');
    expect(() => c.propose('a', 'x')).toThrow(
      expect.objectContaining({ reason: 'uncommittedSizeLimit' }),
    );
    c.heal();
    c.tickAll(1);
    c.propose('a', 'x');
    c.stabilize();
    expect(c.sim('b').state).toEqual(['3:12345', '4:67890', '5:x']);
  });
});

describe('proposals', () => {
  it('a follower refuses with a typed error naming the leader, so the driver can forward', () => {
    const c = electedCluster();
    let error: unknown;
    try {
      c.propose('b', 'x');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(RequestRejectedError);
    expect(error).toMatchObject({ reason: 'notLeader', leader: 'a' });
    expect(c.status('b').lastIndex).toBe(2);
  });

  it('without a known leader the refusal says so', () => {
    const c = new Cluster({ voters: ABC });
    expect(() => c.propose('a', 'x')).toThrow(
      expect.objectContaining({ reason: 'noLeader', leader: null }),
    );
  });

  it('a proposal lost to a leader change shows up as a different term at its index', () => {
    const c = electedCluster();
    c.isolate('a');
    const lost = c.propose('a', 'lost');
    c.tickUntil(() => ['b', 'c'].includes(c.leader() ?? ''));
    c.heal();
    c.tickAll(3);
    expect(c.node('a').termAt(lost.index)).not.toBe(lost.term);
    expect(c.sim('a').state).not.toContain(`${lost.index}:lost`);
  });
});
