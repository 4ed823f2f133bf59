/**
 * Leadership transfer (thesis §3.10) and ReadIndex linearizable reads (thesis §6.4).
 */
import { Cluster } from './harness.js';

const ABC = ['a', 'b', 'c'];

/** a leads term 2 and has committed "x" at 3; message counting starts here. */
function electedCluster(): Cluster {
  const c = new Cluster({ voters: ABC });
  c.campaign('a');
  c.stabilize();
  c.propose('a', 'x');
  c.stabilize();
  c.clearDelivered();
  return c;
}

const rejection = (reason: string) => expect.objectContaining({ reason });

describe('leadership transfer', () => {
  // No test below ticks while the transfer runs: no election timeout is waited out.

  it('to a caught-up voter: TimeoutNow, and it wins at once', () => {
    const c = electedCluster();
    c.node('a').transferLeadership('b');
    c.stabilize();
    expect(c.leader()).toBe('b');
    expect(c.status('b').term).toBe(3);
    expect(c.status('a')).toMatchObject({ role: 'follower', leader: 'b' });
    expect(c.countDelivered((m) => m.type === 'timeoutNow')).toBe(1);
    // The transfer election skips pre-vote and overrides the followers' leader lease.
    expect(c.countDelivered((m) => m.type === 'preVote')).toBe(0);
  });

  it('to a lagging voter: the leader catches it up first and refuses proposals meanwhile', () => {
    const c = electedCluster();
    c.isolate('c');
    for (let i = 0; i < 5; i++) c.propose('a', `v${i}`);
    c.stabilize();
    c.heal();

    c.node('a').transferLeadership('c');
    expect(() => c.propose('a', 'during')).toThrow(rejection('transferInProgress'));
    c.stabilize();
    expect(c.leader()).toBe('c');
    expect(c.sim('c').state).toEqual(['3:x', '4:v0', '5:v1', '6:v2', '7:v3', '8:v4']);
    const lastCatchUp = c.delivered.findLastIndex(
      (m) => m.type === 'append' && m.to === 'c' && m.entries.length > 0,
    );
    const timeoutNow = c.delivered.findIndex((m) => m.type === 'timeoutNow');
    expect(lastCatchUp).toBeGreaterThanOrEqual(0);
    expect(timeoutNow).toBeGreaterThan(lastCatchUp);
  });

  it('is abandoned after an election timeout if the target never catches up', () => {
    const c = electedCluster();
    c.isolate('c');
    c.node('a').transferLeadership('c');
    expect(c.status('a').leadTransferee).toBe('c');
    c.tickAll(10);
    expect(c.status('a')).toMatchObject({ role: 'leader', term: 2, leadTransferee: null });
    c.propose('a', 'accepted again');
  });

  it('is refused by followers and for non-members', () => {
    const c = electedCluster();
    expect(() => c.node('b').transferLeadership('c')).toThrow(rejection('notLeader'));
    expect(() => c.node('a').transferLeadership('z')).toThrow(rejection('invalidTransferTarget'));
  });
});

describe('ReadIndex', () => {
  it('on the leader: served at the commit index once a heartbeat round confirms leadership', () => {
    const c = electedCluster();
    c.node('a').readIndex('r1');
    c.processReady('a'); // sends the heartbeat round
    expect(c.sim('a').readStates).toEqual([]);
    c.stabilize();
    expect(c.sim('a').readStates).toEqual([{ index: 3, context: 'r1' }]);
  });

  it('via a follower: forwarded to the leader, answered with its commit index', () => {
    const c = electedCluster();
    c.node('b').readIndex('r2');
    c.stabilize();
    expect(c.sim('b').readStates).toEqual([{ index: 3, context: 'r2' }]);
    expect(c.status('b').applied).toBeGreaterThanOrEqual(3);
    expect(c.countDelivered((m) => m.type === 'readIndex' && m.to === 'a')).toBe(1);
  });

  it('batches: one quorum round confirms every read registered before it', () => {
    const c = electedCluster();
    c.node('a').readIndex('r1');
    c.node('a').readIndex('r2');
    c.stabilize();
    expect(c.sim('a').readStates.map((r) => r.context)).toEqual(['r1', 'r2']);
  });

  it('is never served by a deposed leader that still believes it leads', () => {
    const c = electedCluster();
    c.isolate('a');
    // b and c elect a new leader and commit a write a does not know of; a does not tick, so
    // it still believes it leads (check-quorum has not fired).
    while (!['b', 'c'].includes(c.leader() ?? '')) {
      c.tick('b');
      c.tick('c');
      c.stabilize();
    }
    const leader = c.leader()!;
    c.propose(leader, 'y');
    c.stabilize();
    expect(c.status('a').role).toBe('leader');

    c.node('a').readIndex('stale');
    c.stabilize();
    c.heal();
    c.tickAll(3); // a's heartbeats reach the others, whose answers carry the newer term
    expect(c.status('a')).toMatchObject({ role: 'follower', leader });
    expect(c.sim('a').readStates).toEqual([]);
  });

  it('a new leader holds reads until it has committed an entry of its term', () => {
    const c = new Cluster({ voters: ABC });
    const noOpLost = c.dropIf((m) => m.from === 'a' && m.type === 'append');
    c.campaign('a');
    c.stabilize();
    c.node('a').readIndex('early');
    c.stabilize();
    expect(c.status('a').role).toBe('leader');
    expect(c.sim('a').readStates).toEqual([]);

    noOpLost();
    c.tickAll(1);
    expect(c.sim('a').readStates).toEqual([{ index: 2, context: 'early' }]);
  });

  it('a single voter answers from its own commit index', () => {
    const c = new Cluster({ voters: ['solo'] });
    c.campaign('solo');
    c.stabilize();
    c.node('solo').readIndex('r');
    c.stabilize();
    expect(c.sim('solo').readStates).toEqual([{ index: 2, context: 'r' }]);
  });

  it('a follower that knows no leader refuses', () => {
    const c = new Cluster({ voters: ABC });
    expect(() => c.node('b').readIndex('r')).toThrow(rejection('noLeader'));
  });
});
