import type { V1StatefulSet } from '@kubernetes/client-node';
import type { ClusterStatus } from '../../../src/api/cluster-types.js';
import {
  clusterStatus,
  isPaused,
  pausedStatus,
  rolloutComplete,
  type ClusterObservation,
} from '../../../src/controllers/cluster-status.js';

const NOW = Date.parse('2026-03-01T12:00:00Z');

function sts(
  replicas: number,
  status: Partial<NonNullable<V1StatefulSet['status']>>,
): V1StatefulSet {
  return {
    metadata: { name: 'qs', generation: 2 },
    spec: { replicas, selector: {}, serviceName: 'qs-headless', template: {} },
    status: {
      replicas,
      observedGeneration: 2,
      updatedReplicas: replicas,
      readyReplicas: 0,
      currentRevision: 'r1',
      updateRevision: 'r1',
      ...status,
    },
  };
}

function observe(overrides: Partial<ClusterObservation>): ClusterObservation {
  return {
    generation: 5,
    desiredNodes: 3,
    wantedVoters: 3,
    foundingVoters: 3,
    clusterId: 'qs.prod',
    selector: 'app.kubernetes.io/instance=qs,app.kubernetes.io/name=quorumstore',
    statefulSet: undefined,
    ...overrides,
  };
}

const condition = (status: ClusterStatus, type: string) =>
  status.conditions?.find((c) => c.type === type);

describe('Cluster status', () => {
  it('is Progressing (Creating) before the StatefulSet exists', () => {
    const status = clusterStatus(observe({}), undefined, NOW);
    expect(condition(status, 'Progressing')).toMatchObject({ status: 'True', reason: 'Creating' });
    expect(condition(status, 'Ready')).toMatchObject({ status: 'False', reason: 'NodesNotReady' });
    expect(condition(status, 'Degraded')).toMatchObject({ status: 'False' });
    expect(status).toMatchObject({ observedGeneration: 5, phase: 'Progressing', readyNodes: 0 });
  });

  it('moves from NodesStarting to Ready and Converged as pods become ready', () => {
    const starting = clusterStatus(
      observe({ statefulSet: sts(3, { readyReplicas: 1 }) }),
      undefined,
      NOW,
    );
    expect(condition(starting, 'Progressing')).toMatchObject({
      status: 'True',
      reason: 'NodesStarting',
      message: '1 of 3 nodes ready',
    });
    const ready = clusterStatus(
      observe({
        statefulSet: sts(3, { readyReplicas: 3 }),
        raft: { leader: 'qs-1', voters: ['qs-0', 'qs-1', 'qs-2'], learners: [] },
      }),
      starting,
      NOW + 60_000,
    );
    expect(condition(ready, 'Ready')).toMatchObject({
      status: 'True',
      reason: 'AllNodesReady',
      message: '3 of 3 nodes ready, Raft leader qs-1',
      lastTransitionTime: '2026-03-01T12:01:00Z',
    });
    expect(condition(ready, 'Progressing')).toMatchObject({ status: 'False', reason: 'Converged' });
    expect(ready).toMatchObject({
      phase: 'Ready',
      readyNodes: 3,
      nodes: 3,
      raft: { leader: 'qs-1' },
    });
  });

  it('calls a node lost after convergence Degraded, not Progressing', () => {
    const converged = clusterStatus(
      observe({ statefulSet: sts(3, { readyReplicas: 3 }) }),
      undefined,
      NOW,
    );
    const lost = clusterStatus(
      observe({ statefulSet: sts(3, { readyReplicas: 2 }) }),
      converged,
      NOW,
    );
    expect(condition(lost, 'Progressing')).toMatchObject({ status: 'False' });
    expect(condition(lost, 'Degraded')).toMatchObject({ status: 'True', reason: 'NodesNotReady' });
    expect(lost.phase).toBe('Degraded');
  });

  it('is Progressing while rolling out or scaling', () => {
    const rolling = clusterStatus(
      observe({
        statefulSet: sts(3, { readyReplicas: 3, updatedReplicas: 1, updateRevision: 'r2' }),
      }),
      undefined,
      NOW,
    );
    expect(condition(rolling, 'Progressing')).toMatchObject({
      status: 'True',
      reason: 'RollingOut',
    });
    expect(condition(rolling, 'Progressing')?.message).not.toMatch(/cluster secret/);
    const rotating = clusterStatus(
      observe({
        statefulSet: sts(3, { readyReplicas: 3, updatedReplicas: 1, updateRevision: 'r2' }),
        rotatingClusterSecret: true,
      }),
      undefined,
      NOW,
    );
    expect(condition(rotating, 'Progressing')).toMatchObject({
      status: 'True',
      reason: 'RollingOut',
      message: expect.stringMatching(/rotating the cluster secret: the previous one is accepted/),
    });
    const scaling = clusterStatus(
      observe({ desiredNodes: 5, statefulSet: sts(3, { readyReplicas: 3 }) }),
      undefined,
      NOW,
    );
    expect(condition(scaling, 'Progressing')).toMatchObject({
      status: 'True',
      reason: 'Scaling',
      message: 'scaling from 3 to 5 nodes',
    });
  });

  it('says why a scale-down is refused, and that voters are being added', () => {
    const blocked = clusterStatus(
      observe({
        desiredNodes: 2,
        statefulSet: sts(3, { readyReplicas: 3 }),
        scaleDownBlocked: 'refused: why',
      }),
      undefined,
      NOW,
    );
    expect(condition(blocked, 'Progressing')).toMatchObject({
      status: 'False',
      reason: 'ScaleDownBlocked',
      message: 'refused: why',
    });
    expect(condition(blocked, 'Ready')).toMatchObject({ status: 'True' });
    expect(blocked.phase).toBe('ScaleDownBlocked');
    const adding = clusterStatus(
      observe({
        statefulSet: sts(3, { readyReplicas: 3 }),
        raft: { leader: 'qs-0', voters: ['qs-0'], learners: ['qs-1', 'qs-2'] },
      }),
      undefined,
      NOW,
    );
    expect(condition(adding, 'Progressing')).toMatchObject({
      status: 'True',
      reason: 'AddingVoters',
    });
  });

  it('reports nodes without a Raft leader as Degraded', () => {
    const status = clusterStatus(
      observe({
        statefulSet: sts(3, { readyReplicas: 3 }),
        raft: { voters: ['qs-0'], learners: [] },
      }),
      undefined,
      NOW,
    );
    expect(condition(status, 'Degraded')).toMatchObject({ status: 'True', reason: 'NoLeader' });
  });

  it('reports a missing Secret as Degraded, naming it', () => {
    const status = clusterStatus(
      observe({
        statefulSet: sts(3, { readyReplicas: 3 }),
        missingSecrets: ['Secret "mine"', 'key "api-key" of Secret "qs-api-key"'],
      }),
      undefined,
      NOW,
    );
    expect(condition(status, 'Degraded')).toMatchObject({
      status: 'True',
      reason: 'SecretMissing',
      message: expect.stringContaining('Secret "mine", key "api-key" of Secret "qs-api-key"'),
    });
    expect(status.phase).toBe('Degraded');
  });

  it('keeps transition times when nothing changes (no status churn)', () => {
    const first = clusterStatus(
      observe({ statefulSet: sts(3, { readyReplicas: 3 }) }),
      undefined,
      NOW,
    );
    const again = clusterStatus(
      observe({ statefulSet: sts(3, { readyReplicas: 3 }) }),
      first,
      NOW + 3_600_000,
    );
    expect(again).toEqual(first);
  });

  it('when paused, only Progressing changes', () => {
    const running = clusterStatus(
      observe({ statefulSet: sts(3, { readyReplicas: 3 }) }),
      undefined,
      NOW,
    );
    const paused = pausedStatus(6, running, NOW);
    expect(isPaused(paused)).toBe(true);
    expect(isPaused(running)).toBe(false);
    expect(paused).toMatchObject({ observedGeneration: 6, phase: 'Paused', readyNodes: 3 });
    expect(condition(paused, 'Progressing')).toMatchObject({ status: 'False', reason: 'Paused' });
    expect(condition(paused, 'Ready')).toEqual(condition(running, 'Ready'));
  });
});

describe('the founding voter record', () => {
  it('is written with the first status, whether or not the nodes answer', () => {
    const first = clusterStatus(observe({ foundingVoters: 3 }), undefined, NOW);
    expect(first.raft).toEqual({ bootstrapVoters: 3 });
    const answering = clusterStatus(
      observe({
        foundingVoters: 3,
        statefulSet: sts(3, { readyReplicas: 3 }),
        raft: { leader: 'qs-0', voters: ['qs-0', 'qs-1', 'qs-2'], learners: [] },
      }),
      first,
      NOW,
    );
    expect(answering.raft).toEqual({
      bootstrapVoters: 3,
      leader: 'qs-0',
      voters: ['qs-0', 'qs-1', 'qs-2'],
      learners: [],
    });
    // The nodes stop answering: the membership goes, the record stays (a merge patch of the
    // status would otherwise delete it with the rest of raft).
    const silent = clusterStatus(observe({ foundingVoters: 3 }), answering, NOW);
    expect(silent.raft).toEqual({ bootstrapVoters: 3 });
  });

  it('never changes once written, and survives a pause', () => {
    const first = clusterStatus(observe({ foundingVoters: 3 }), undefined, NOW);
    const later = clusterStatus(
      observe({ foundingVoters: 5, desiredNodes: 10, wantedVoters: 5 }),
      first,
      NOW,
    );
    expect(later.raft?.bootstrapVoters).toBe(3);
    expect(pausedStatus(6, later, NOW).raft?.bootstrapVoters).toBe(3);
  });
});

describe('rolloutComplete', () => {
  it('needs the spec observed, one revision, every pod updated and ready', () => {
    expect(rolloutComplete(sts(3, { readyReplicas: 3 }))).toBe(true);
    // Not every pod ready (the StatefulSet keeps the old currentRevision until they are).
    expect(rolloutComplete(sts(3, { readyReplicas: 2 }))).toBe(false);
    // A new template the controller has not seen yet.
    expect(rolloutComplete(sts(3, { readyReplicas: 3, observedGeneration: 1 }))).toBe(false);
    // Rolling: two revisions, pods not all updated.
    expect(
      rolloutComplete(sts(3, { readyReplicas: 3, updatedReplicas: 2, updateRevision: 'r2' })),
    ).toBe(false);
    expect(rolloutComplete(sts(3, { readyReplicas: 3, updateRevision: 'r2' }))).toBe(false);
    // Scaling: fewer pods than the spec asks for.
    expect(rolloutComplete(sts(3, { replicas: 2, updatedReplicas: 2, readyReplicas: 2 }))).toBe(
      false,
    );
  });
});
