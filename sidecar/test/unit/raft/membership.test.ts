/**
 * Single-server membership changes: voters and learners, promotion, removal (including of the
 * leader), bootstrap of a new node, and the safety rules for proposing changes.
 */
import type { ConfChange } from '../../../src/raft/types.js';
import { Cluster } from './harness.js';

const ABC = ['a', 'b', 'c'];

/** a leads term 2; message counting starts after its election. */
function electedCluster(): Cluster {
  const c = new Cluster({ voters: ABC });
  c.campaign('a');
  c.stabilize();
  c.clearDelivered();
  return c;
}

/** Proposes on the leader `a` and lets the change commit and apply everywhere. */
function change(c: Cluster, conf: ConfChange): void {
  c.proposeConfChange('a', conf);
  c.stabilize();
}

const rejection = (reason: string) => expect.objectContaining({ reason });

describe('membership changes', () => {
  it('a node with empty storage waits, never campaigning, until it is added', () => {
    const c = electedCluster();
    c.addNode('d');
    c.tickAll(50);
    expect(c.status('d')).toMatchObject({
      role: 'follower',
      confState: { voters: [], learners: [] },
    });
    expect(c.countDelivered((m) => m.from === 'd')).toBe(0);
    expect(c.status('a')).toMatchObject({ role: 'leader', term: 2 });
  });

  it('adds a voter: it catches up from the snapshot, learns the membership, and counts', () => {
    const c = electedCluster();
    c.propose('a', 'before');
    c.stabilize();
    c.addNode('d');
    change(c, { type: 'addVoter', node: 'd' });
    for (const id of [...ABC, 'd']) {
      expect(c.status(id).confState).toEqual({ voters: ['a', 'b', 'c', 'd'], learners: [] });
    }
    // d's log starts after the bootstrap snapshot (index 1), which it received from the leader.
    expect(c.countDelivered((m) => m.type === 'snapshot' && m.to === 'd')).toBe(1);
    expect(c.sim('d').state).toEqual(c.sim('a').state);

    // Quorum is now 3 of 4: with c down, d's acknowledgement is needed and enough.
    c.isolate('c');
    const x = c.propose('a', 'x');
    c.stabilize();
    expect(c.status('a').commit).toBe(x.index);
    c.isolate('b');
    const y = c.propose('a', 'y');
    c.stabilize();
    expect(c.status('a').commit).toBe(x.index);
    expect(c.node('d').termAt(y.index)).toBe(y.term);
  });

  it('a learner receives and applies the log but never counts, votes or campaigns', () => {
    const c = electedCluster();
    c.addNode('l');
    change(c, { type: 'addLearner', node: 'l' });
    expect(c.status('a').confState).toEqual({ voters: ABC, learners: ['l'] });

    c.partition(['a', 'l'], ['b', 'c']);
    const x = c.propose('a', 'x');
    c.stabilize();
    expect(c.node('l').termAt(x.index)).toBe(x.term);
    expect(c.status('a').commit).toBe(x.index - 1); // the learner's copy does not count

    c.heal();
    c.isolate('a');
    c.tickUntil(() => ['b', 'c'].includes(c.leader() ?? ''));
    c.tickAll(50);
    expect(c.status('l').role).toBe('follower');
    expect(c.countDelivered((m) => m.from === 'l' && m.type === 'preVote')).toBe(0);
    expect(c.status('l').leader).toBe(c.leader());
  });

  it('promotes a learner to voter', () => {
    const c = electedCluster();
    c.addNode('l');
    change(c, { type: 'addLearner', node: 'l' });
    expect(() => c.node('a').transferLeadership('l')).toThrow(rejection('invalidTransferTarget'));

    change(c, { type: 'addVoter', node: 'l' });
    expect(c.status('l').confState).toEqual({ voters: ['a', 'b', 'c', 'l'], learners: [] });
    expect(c.status('a').progress?.l).toMatchObject({ isLearner: false });
    c.node('a').transferLeadership('l');
    c.stabilize();
    expect(c.leader()).toBe('l');
  });

  it('removes a follower: the others carry on, and it never campaigns', () => {
    const c = electedCluster();
    change(c, { type: 'removeNode', node: 'c' });
    expect(c.status('a').confState).toEqual({ voters: ['a', 'b'], learners: [] });
    expect(c.status('c').confState).toEqual({ voters: ['a', 'b'], learners: [] });

    c.tickAll(50);
    expect(c.countDelivered((m) => m.from === 'c' && m.type === 'preVote')).toBe(0);
    expect(c.status('a')).toMatchObject({ role: 'leader', term: 2 });
    const x = c.propose('a', 'x');
    c.stabilize();
    expect(c.status('b').applied).toBe(x.index);
  });

  it('removes the leader: it steps down once the change applies; the rest elect a leader', () => {
    const c = electedCluster();
    change(c, { type: 'removeNode', node: 'a' });
    expect(c.status('a')).toMatchObject({ role: 'follower', confState: { voters: ['b', 'c'] } });

    c.tickUntil(() => c.leader() !== undefined);
    const leader = c.leader()!;
    expect(['b', 'c']).toContain(leader);
    c.tickAll(50);
    expect(c.countDelivered((m) => m.from === 'a' && m.type === 'preVote')).toBe(0);
    const x = c.propose(leader, 'x');
    c.stabilize();
    expect(c.status(leader === 'b' ? 'c' : 'b').applied).toBe(x.index);
  });

  it('one change at a time: the next waits until the previous one is applied', () => {
    const c = electedCluster();
    c.addNode('d');
    c.addNode('e');
    c.proposeConfChange('a', { type: 'addLearner', node: 'd' });
    expect(() => c.proposeConfChange('a', { type: 'addLearner', node: 'e' })).toThrow(
      rejection('confChangePending'),
    );
    c.stabilize();
    c.proposeConfChange('a', { type: 'addLearner', node: 'e' });
    c.stabilize();
    expect(c.status('a').confState.learners).toEqual(['d', 'e']);
  });

  it('a new leader may not change membership before it commits an entry of its term', () => {
    const c = new Cluster({ voters: ABC });
    const noOpLost = c.dropIf((m) => m.from === 'a' && m.type === 'append');
    c.campaign('a');
    c.stabilize();
    expect(c.status('a').role).toBe('leader');
    expect(() => c.proposeConfChange('a', { type: 'removeNode', node: 'c' })).toThrow(
      rejection('termNotCommitted'),
    );
    noOpLost();
    c.tickAll(1);
    expect(c.status('a').commit).toBe(2);
    c.proposeConfChange('a', { type: 'removeNode', node: 'c' });
  });

  it.each<[string, ConfChange]>([
    ['adding an existing voter', { type: 'addVoter', node: 'b' }],
    ['demoting a voter', { type: 'addLearner', node: 'b' }],
    ['removing a non-member', { type: 'removeNode', node: 'z' }],
    ['an empty node id', { type: 'addVoter', node: '' }],
  ])('refuses a change that does not apply: %s', (_, conf) => {
    const c = electedCluster();
    expect(() => c.proposeConfChange('a', conf)).toThrow(rejection('invalidConfChange'));
  });

  it('refuses to remove the last voter', () => {
    const c = new Cluster({ voters: ['solo'] });
    c.campaign('solo');
    c.stabilize();
    expect(() => c.proposeConfChange('solo', { type: 'removeNode', node: 'solo' })).toThrow(
      rejection('invalidConfChange'),
    );
  });
});
