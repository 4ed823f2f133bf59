import {
  byOrdinal,
  describeBlockers,
  membersToRemove,
  nextVoter,
  nodesInRange,
  scaleDownBlockers,
} from '../../../src/controllers/cluster-scaling.js';

describe('scale-down gate', () => {
  const leaving = nodesInRange('qs', 2, 4);

  it('names the nodes leaving: the highest ordinals', () => {
    expect(leaving).toEqual(['qs-2', 'qs-3']);
    expect(nodesInRange('qs', 3, 3)).toEqual([]);
  });

  it('is blocked by every shard with a replica on a leaving node, and only those', () => {
    const blockers = scaleDownBlockers(leaving, [
      {
        className: 'Article',
        shards: [
          { name: 's0', belongsToNodes: ['qs-0', 'qs-2'] },
          { name: 's1', belongsToNodes: ['qs-0', 'qs-1'] },
          { name: 's2', belongsToNodes: ['qs-3', 'qs-1', 'qs-2'] },
        ],
      },
      { className: 'Empty', shards: [] },
    ]);
    expect(blockers).toEqual([
      { className: 'Article', shard: 's0', nodes: ['qs-2'] },
      { className: 'Article', shard: 's2', nodes: ['qs-3', 'qs-2'] },
    ]);
    expect(scaleDownBlockers(leaving, [{ className: 'A', shards: [] }])).toEqual([]);
  });

  it('describes the refusal with nodes and shards, capping long lists', () => {
    const message = describeBlockers(4, 2, [
      { className: 'Article', shard: 's0', nodes: ['qs-2'] },
      { className: 'Article', shard: 's2', nodes: ['qs-3', 'qs-2'] },
    ]);
    expect(message).toBe(
      'scale-down from 4 to 2 nodes refused: nodes qs-2, qs-3 hold shard replicas: ' +
        'Article/s0 (qs-2), Article/s2 (qs-3, qs-2). Replicas are not moved; delete those ' +
        'collections or keep spec.nodes at 4',
    );
    const many = Array.from({ length: 13 }, (_, i) => ({
      className: 'C',
      shard: `s${i}`,
      nodes: ['qs-2'],
    }));
    expect(describeBlockers(3, 2, many)).toMatch(/node qs-2 holds .*C\/s9 \(qs-2\) and 3 more\./);
  });

  it('removes leaving members highest ordinal first, skipping non-members', () => {
    expect(
      membersToRemove({ leader: 'qs-0', voters: ['qs-0', 'qs-2'], learners: ['qs-10'] }, [
        'qs-2',
        'qs-3',
        'qs-10',
      ]),
    ).toEqual(['qs-10', 'qs-2']);
  });
});

describe('voter promotion', () => {
  const members = { leader: 'qs-0', voters: ['qs-0'], learners: ['qs-2', 'qs-1', 'qs-5'] };
  const ready = (...names: string[]) =>
    names.map((name) => ({ name, status: 'HEALTHY', ready: true }));

  it('promotes the ready learner with the lowest ordinal among the nodes kept', () => {
    expect(nextVoter(members, ready('qs-1', 'qs-2'), ['qs-0', 'qs-1', 'qs-2'], 3)).toBe('qs-1');
    expect(nextVoter(members, ready('qs-2', 'qs-5'), ['qs-0', 'qs-1', 'qs-2'], 3)).toBe('qs-2');
  });

  it('promotes nobody once there are enough voters, or no learner is ready', () => {
    expect(nextVoter(members, ready('qs-1'), ['qs-0', 'qs-1'], 1)).toBeUndefined();
    expect(
      nextVoter(members, [{ name: 'qs-1', status: 'HEALTHY', ready: false }], ['qs-1'], 3),
    ).toBeUndefined();
    expect(nextVoter(members, ready('qs-5'), ['qs-0', 'qs-1', 'qs-2'], 3)).toBeUndefined();
  });

  it('orders names by ordinal, not as text', () => {
    expect(['qs-10', 'qs-2', 'qs-1'].sort(byOrdinal)).toEqual(['qs-1', 'qs-2', 'qs-10']);
  });
});
