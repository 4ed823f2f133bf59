import {
  defaultClusterId,
  defaultVoters,
  resolveCluster,
  withClusterSchemaDefaults,
  withCollectionSchemaDefaults,
  type ClusterSpec,
} from '../../../src/api/index.js';
import { OPERATOR_DEFAULTS, aCluster, aCollection, aResolvedCluster } from './fixtures.js';

describe('voters by cluster size (as Weaviate’s chart)', () => {
  it.each([
    [1, 1],
    [2, 1],
    [3, 3],
    [9, 3],
    [10, 5],
    [100, 5],
  ])('%i nodes → %i voters', (nodes, voters) => {
    expect(defaultVoters(nodes)).toBe(voters);
    expect(aResolvedCluster({ nodes }).spec.raft.voters).toBe(voters);
  });

  it('keeps voters the spec sets', () => {
    expect(aResolvedCluster({ nodes: 10, raft: { voters: 7 } }).spec.raft.voters).toBe(7);
  });
});

describe('cluster defaulting', () => {
  it('fills an empty spec', () => {
    const { spec } = aResolvedCluster({});
    expect(spec).toMatchObject({
      nodes: 3,
      clusterId: 'qs.prod',
      clusterDomain: 'cluster.local',
      paused: false,
      sidecar: {
        image: OPERATOR_DEFAULTS.sidecarImage,
        imagePullPolicy: 'IfNotPresent',
        logLevel: 'info',
      },
      redis: {
        image: OPERATOR_DEFAULTS.redisImage,
        imagePullPolicy: 'IfNotPresent',
        appendfsync: 'everysec',
      },
      storage: { size: '10Gi' },
      raft: { fqdnResolver: true, voters: 3, collectionRetrievalStrategy: 'LeaderOnly' },
      asyncReplication: {},
      auth: {
        clusterSecretRef: { name: 'qs-cluster-secret', key: 'cluster-secret' },
        redisPasswordRef: { name: 'qs-redis', key: 'password' },
      },
      scheduling: { podAntiAffinity: 'Preferred' },
      imagePullSecrets: [],
      podDisruptionBudget: { enabled: true },
      monitoring: { enabled: false },
      networkPolicy: { enabled: false, allowedNamespaces: [] },
      service: { type: 'ClusterIP' },
    });
  });

  it('keeps what the spec sets, null counting as absent', () => {
    const given: ClusterSpec = {
      nodes: 5,
      clusterDomain: 'corp.internal',
      sidecar: { image: 'mine:1', logLevel: 'debug' },
      redis: { appendfsync: 'always' },
      storage: { size: '1Ti', storageClassName: 'fast' },
      auth: { clusterSecretRef: { name: 'my-secret' } },
      podDisruptionBudget: { enabled: false },
      paused: null as unknown as boolean,
    };
    const { spec } = aResolvedCluster(given);
    expect(spec.nodes).toBe(5);
    expect(spec.clusterDomain).toBe('corp.internal');
    expect(spec.paused).toBe(false);
    expect(spec.sidecar).toMatchObject({ image: 'mine:1', logLevel: 'debug' });
    expect(spec.redis.appendfsync).toBe('always');
    expect(spec.storage).toEqual({ size: '1Ti', storageClassName: 'fast' });
    expect(spec.auth.clusterSecretRef).toEqual({ name: 'my-secret', key: 'cluster-secret' });
    expect(spec.podDisruptionBudget.enabled).toBe(false);
  });

  it('does not modify its input', () => {
    const given: ClusterSpec = { sidecar: {}, auth: { redisPasswordRef: { name: 'r' } } };
    const copy = structuredClone(given);
    aResolvedCluster(given);
    expect(given).toEqual(copy);
  });

  it('schema defaulting is idempotent', () => {
    for (const spec of [
      undefined,
      {},
      { nodes: 1, raft: { voters: 1 } },
      { auth: { clusterSecretRef: { name: 'x' } } },
    ]) {
      const once = withClusterSchemaDefaults(spec);
      expect(withClusterSchemaDefaults(once)).toEqual(once);
    }
  });

  it('resolving a resolved spec changes nothing', () => {
    const resolved = aResolvedCluster({ nodes: 4 });
    const again = resolveCluster(aCluster(resolved.spec as ClusterSpec), {
      sidecarImage: 'other',
      redisImage: 'other',
    });
    expect(again.spec).toEqual(resolved.spec);
  });
});

describe('cluster id', () => {
  it('is <name>.<namespace> when that fits CLUSTER_ID', () => {
    expect(defaultClusterId('qs', 'prod')).toBe('qs.prod');
  });

  it('hashes a namespace that makes it too long, deterministically', () => {
    const namespace = 'n'.repeat(63);
    const id = defaultClusterId('a-rather-long-cluster-name', namespace);
    expect(id).toMatch(/^a-rather-long-cluster-name\.[0-9a-f]{8}$/);
    expect(defaultClusterId('a-rather-long-cluster-name', namespace)).toBe(id);
    expect(id.length).toBeLessThanOrEqual(63);
  });

  it('keeps an explicit one', () => {
    expect(aResolvedCluster({ clusterId: 'fixed' }).spec.clusterId).toBe('fixed');
  });
});

describe('collection defaulting', () => {
  it('fills the replication and multi-tenancy sections and the deletion policy', () => {
    expect(withCollectionSchemaDefaults(aCollection().spec)).toEqual({
      clusterRef: { name: 'qs' },
      className: 'Article',
      replicationConfig: {
        factor: 1,
        deletionStrategy: 'TimeBasedResolution',
      },
      multiTenancyConfig: {
        enabled: false,
        autoTenantCreation: false,
        autoTenantActivation: false,
      },
      deletionPolicy: 'Retain',
    });
  });

  it('leaves sharding absent unless given, then fills virtualPerPhysical', () => {
    expect(withCollectionSchemaDefaults(aCollection().spec).shardingConfig).toBeUndefined();
    expect(
      withCollectionSchemaDefaults(aCollection({ shardingConfig: { desiredCount: 4 } }).spec)
        .shardingConfig,
    ).toEqual({ desiredCount: 4, virtualPerPhysical: 128 });
  });

  it('is idempotent', () => {
    const once = withCollectionSchemaDefaults(
      aCollection({ shardingConfig: {}, replicationConfig: { factor: 3 } }).spec,
    );
    expect(withCollectionSchemaDefaults(once)).toEqual(once);
  });
});
