import type { V1StatefulSet } from '@kubernetes/client-node';
import type { ClusterSpec, ClusterStatus } from '../../../src/api/index.js';
import { buildStatefulSet } from '../../../src/builders/index.js';
import { desiredChildren } from '../../../src/controllers/cluster-children.js';
import {
  foundingVoters,
  liveFoundingVoters,
  recordedFoundingVoters,
} from '../../../src/controllers/founding-voters.js';
import { aResolvedCluster } from '../api/fixtures.js';

/** A StatefulSet as a Cluster founded with `voters` voters has it. */
const liveWith = (voters: number): V1StatefulSet =>
  buildStatefulSet(aResolvedCluster({ nodes: 7 }), 'hash', 'secrets-hash', voters);

/** The same, with RAFT_BOOTSTRAP_EXPECT set to `value` as text. */
function liveWithExpect(value: string | undefined): V1StatefulSet {
  const sts = structuredClone(liveWith(3));
  const sidecar = sts.spec!.template.spec!.containers.find((c) => c.name === 'sidecar')!;
  sidecar.env = (sidecar.env ?? []).flatMap((env) => {
    if (env.name !== 'RAFT_BOOTSTRAP_EXPECT') return [env];
    return value === undefined ? [] : [{ name: env.name, value }];
  });
  return sts;
}

const recorded = (bootstrapVoters: number): ClusterStatus => ({ raft: { bootstrapVoters } });

describe('the founding voter count', () => {
  it('comes from the status record first', () => {
    expect(foundingVoters({ status: recorded(3), statefulSet: liveWith(5), wanted: 5 })).toEqual({
      voters: 3,
      source: 'status',
    });
    // Even without a StatefulSet (orphan-deleted, being recreated).
    expect(foundingVoters({ status: recorded(3), statefulSet: undefined, wanted: 5 })).toEqual({
      voters: 3,
      source: 'status',
    });
  });

  it('then from what the live StatefulSet runs with (no record: older operator, lost status)', () => {
    expect(foundingVoters({ status: undefined, statefulSet: liveWith(3), wanted: 5 })).toEqual({
      voters: 3,
      source: 'statefulSet',
    });
    // A status without the record (written by an operator from before it).
    expect(
      foundingVoters({
        status: { phase: 'Ready', raft: { leader: 'qs-0' } },
        statefulSet: liveWith(1),
        wanted: 3,
      }),
    ).toEqual({ voters: 1, source: 'statefulSet' });
  });

  it('and from the spec only for a Cluster with neither (a new one)', () => {
    expect(foundingVoters({ status: undefined, statefulSet: undefined, wanted: 5 })).toEqual({
      voters: 5,
      source: 'spec',
    });
  });

  it('skips values RAFT_BOOTSTRAP_EXPECT would refuse', () => {
    for (const value of ['0', '8', 'three', '2.5', '', undefined]) {
      expect(liveFoundingVoters(liveWithExpect(value))).toBeUndefined();
      expect(
        foundingVoters({ status: undefined, statefulSet: liveWithExpect(value), wanted: 3 }),
      ).toEqual({ voters: 3, source: 'spec' });
    }
    expect(liveFoundingVoters(liveWithExpect('7'))).toBe(7);
    expect(recordedFoundingVoters({ raft: { bootstrapVoters: 0 } })).toBeUndefined();
    expect(recordedFoundingVoters({ raft: { bootstrapVoters: 9 } })).toBeUndefined();
    expect(recordedFoundingVoters({})).toBeUndefined();
    expect(recordedFoundingVoters(undefined)).toBeUndefined();
    // A StatefulSet without a sidecar container (edited by hand) has nothing to say.
    const bare = structuredClone(liveWith(3));
    bare.spec!.template.spec!.containers = [];
    expect(liveFoundingVoters(bare)).toBeUndefined();
  });

  it('read back from a StatefulSet, builds the same StatefulSet: the count is a fixed point', () => {
    for (const voters of [1, 3, 5, 7]) expect(liveFoundingVoters(liveWith(voters))).toBe(voters);
  });
});

describe("a Cluster's desired children, with the founding voter count kept", () => {
  /** The children as JSON, with the StatefulSet's replicas taken out. */
  function withoutReplicas(spec: ClusterSpec) {
    const children = desiredChildren(aResolvedCluster(spec), 'operators', 'secrets-hash', 3);
    const statefulSet = { ...children.statefulSet, spec: { ...children.statefulSet.spec } };
    const replicas = statefulSet.spec.replicas;
    delete statefulSet.spec.replicas;
    return { replicas, json: JSON.stringify({ ...children, statefulSet }) };
  }

  it('differ in nothing but the replicas when nodes or voters change', () => {
    const founded = withoutReplicas({ nodes: 3 });
    for (const spec of [
      { nodes: 4 },
      { nodes: 10 },
      { nodes: 12, raft: { voters: 7 } },
    ] satisfies ClusterSpec[]) {
      const scaled = withoutReplicas(spec);
      expect(scaled.replicas).toBe(spec.nodes);
      // ConfigMap (and its hash on the template), Services, PDB, NetworkPolicy, pod template.
      expect(scaled.json).toBe(founded.json);
    }
  });
});
