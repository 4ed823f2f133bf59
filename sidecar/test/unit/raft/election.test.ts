/**
 * Elections: basic election and replication, split votes, pre-vote and check-quorum.
 */
import { Cluster } from './harness.js';

const ABC = ['a', 'b', 'c'];

function electedCluster(options: Partial<ConstructorParameters<typeof Cluster>[0]> = {}): Cluster {
  const c = new Cluster({ voters: ABC, ...options });
  c.campaign('a');
  c.stabilize();
  expect(c.leader()).toBe('a');
  return c;
}

describe('election and replication', () => {
  it('elects the campaigning node, which commits a no-op of its term', () => {
    const c = new Cluster({ voters: ABC });
    c.campaign('a');
    c.stabilize();
    for (const id of ABC) {
      const s = c.status(id);
      // Pre-vote does not consume a term: bootstrap term 1, election term 2.
      expect(s).toMatchObject({ term: 2, leader: 'a', commit: 2, applied: 2, lastIndex: 2 });
      expect(c.node(id).termAt(2)).toBe(2);
    }
    expect(c.status('a').role).toBe('leader');
  });

  it('replicates and applies proposals in the same order everywhere', () => {
    const c = electedCluster();
    const entries = ['x', 'y', 'z'].map((data) => c.propose('a', data));
    expect(entries.map((e) => [e.index, e.term])).toEqual([
      [3, 2],
      [4, 2],
      [5, 2],
    ]);
    c.stabilize();
    for (const id of ABC) {
      expect(c.sim(id).state).toEqual(['3:x', '4:y', '5:z']);
      expect(c.status(id).commit).toBe(5);
    }
    c.checkLogMatching();
  });

  it('elects a leader by election timeout alone', () => {
    const c = new Cluster({ voters: ABC, seed: 7 });
    const rounds = c.tickUntil(() => c.leader() !== undefined);
    // Randomized timeouts lie in [10, 20) ticks.
    expect(rounds).toBeGreaterThanOrEqual(10);
    expect(rounds).toBeLessThan(20);
    const leader = c.leader()!;
    for (const id of ABC) expect(c.status(id).leader).toBe(leader);
  });

  it('a single voter elects itself and commits on its own', () => {
    const c = new Cluster({ voters: ['solo'] });
    c.campaign('solo');
    c.stabilize();
    expect(c.status('solo').role).toBe('leader');
    c.propose('solo', 'x');
    c.stabilize();
    expect(c.sim('solo').state).toEqual(['3:x']);
  });

  it('commits need a quorum: a leader cut off from both followers commits nothing', () => {
    const c = electedCluster();
    c.isolate('a');
    c.propose('a', 'lost');
    c.stabilize();
    expect(c.status('a').commit).toBe(2);
    expect(c.status('a').lastIndex).toBe(3);
  });

  it('a split vote resolves through randomized timeouts', () => {
    const c = new Cluster({ voters: ABC, seed: 3 });
    c.isolate('c');
    // Both campaign before hearing from each other: each grants the other's pre-vote, both
    // become candidates for term 2, and each rejects the other's vote.
    c.campaign('a');
    c.campaign('b');
    c.stabilize();
    expect(c.status('a')).toMatchObject({ role: 'candidate', term: 2, vote: 'a' });
    expect(c.status('b')).toMatchObject({ role: 'candidate', term: 2, vote: 'b' });
    expect(c.leader()).toBeUndefined();

    const rounds = c.tickUntil(() => c.leader() !== undefined);
    expect(rounds).toBeLessThan(20);
    const leader = c.leader()!;
    expect(['a', 'b']).toContain(leader);
    expect(c.status(leader).term).toBeGreaterThan(2);

    c.heal();
    c.tickAll(3);
    for (const id of ABC) expect(c.status(id).leader).toBe(leader);
  });
});

describe('pre-vote and check-quorum', () => {
  it('a partitioned node neither inflates its term nor disrupts the leader when it rejoins', () => {
    const c = electedCluster();
    c.isolate('c');
    c.tickAll(100); // ten election timeouts: c pre-campaigns again and again
    expect(c.status('c').term).toBe(2);
    expect(c.status('a')).toMatchObject({ role: 'leader', term: 2 });

    c.heal();
    c.tickAll(5);
    for (const id of ABC) expect(c.status(id)).toMatchObject({ term: 2, leader: 'a' });
    c.propose('a', 'after');
    c.stabilize();
    expect(c.sim('c').state).toEqual(['3:after']);
  });

  it('control: without pre-vote and check-quorum the rejoining node deposes the leader', () => {
    const c = electedCluster({ preVote: false, checkQuorum: false });
    c.isolate('c');
    c.tickAll(100);
    expect(c.status('c').term).toBeGreaterThan(5); // term inflation
    c.heal();
    c.tickAll(30);
    expect(c.status('a').term).toBeGreaterThan(2); // the healthy leader was disrupted
  });

  it('followers within a leader lease ignore a campaign from a node with a fine log', () => {
    const c = electedCluster();
    // b campaigns although a leader is alive (say, b's clock runs fast).
    c.campaign('b');
    c.stabilize();
    expect(c.status('a')).toMatchObject({ role: 'leader', term: 2 });
    expect(c.status('b').term).toBe(2);
    expect(c.status('c').dropped.inLease).toBe(1);
  });

  it('a leader that cannot reach a quorum steps down within two election timeouts', () => {
    const c = electedCluster();
    c.isolate('a');
    // The first check (tick 10) still counts followers heard from before the partition.
    c.tick('a', 19);
    expect(c.status('a').role).toBe('leader');
    c.tick('a', 1);
    expect(c.status('a')).toMatchObject({ role: 'follower', term: 2, leader: null });

    // The majority side elects a new leader of its own.
    c.tickUntil(() => ['b', 'c'].includes(c.leader() ?? ''));
    const leader = c.leader()!;
    c.heal();
    c.tickAll(5);
    expect(c.status('a')).toMatchObject({ role: 'follower', leader });
  });

  it('a leader with one live follower (a quorum of three) stays', () => {
    const c = electedCluster();
    c.isolate('c');
    c.tickAll(50);
    expect(c.status('a')).toMatchObject({ role: 'leader', term: 2 });
  });
});
