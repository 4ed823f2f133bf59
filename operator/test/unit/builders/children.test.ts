import type { V1ObjectMeta } from '@kubernetes/client-node';
import type { ClusterSpec } from '../../../src/api/index.js';
import {
  buildClientService,
  buildConfigMap,
  buildGeneratedSecret,
  buildHeadlessService,
  buildNetworkPolicy,
  buildPodDisruptionBudget,
  buildPreviousClusterSecret,
  buildStatefulSet,
  configHash,
  ownerReference,
  secretsToGenerate,
  selectorString,
} from '../../../src/builders/index.js';
import { aResolvedCluster } from '../api/fixtures.js';

const RANDOM = 'r4nd0m-value-of-32-characters-xx';

/** Every child this Cluster has (the optional ones enabled). */
function allChildren(spec: ClusterSpec = {}) {
  const cluster = aResolvedCluster({ ...spec, networkPolicy: { enabled: true } });
  const configMap = buildConfigMap(cluster);
  return [
    buildHeadlessService(cluster),
    buildClientService(cluster),
    configMap,
    buildStatefulSet(cluster, configHash(configMap), 'secrets-hash', 3),
    buildPodDisruptionBudget(cluster)!,
    buildNetworkPolicy(cluster)!,
    buildGeneratedSecret(cluster, 'clusterSecret', RANDOM),
    buildGeneratedSecret(cluster, 'redisPassword', RANDOM),
    buildPreviousClusterSecret(cluster, Buffer.from(RANDOM).toString('base64')),
  ];
}

describe('every child', () => {
  it('is complete for server-side apply and owned by the Cluster', () => {
    for (const child of allChildren()) {
      const metadata = child.metadata as V1ObjectMeta;
      expect(child.apiVersion).toBeTruthy();
      expect(child.kind).toBeTruthy();
      expect(metadata.name).toBeTruthy();
      expect(metadata.namespace).toBe('prod');
      expect(metadata.labels).toMatchObject({
        'app.kubernetes.io/name': 'quorumstore',
        'app.kubernetes.io/instance': 'qs',
        'app.kubernetes.io/managed-by': 'quorumstore-operator',
        'app.kubernetes.io/component': expect.any(String),
      });
      expect(metadata.ownerReferences).toEqual([
        {
          apiVersion: 'quorumstore.dev/v1alpha1',
          kind: 'Cluster',
          name: 'qs',
          uid: 'uid-of-qs',
          controller: true,
          blockOwnerDeletion: true,
        },
      ]);
    }
  });

  it('has a distinct name per kind', () => {
    const keys = allChildren().map((c) => `${c.kind}/${c.metadata?.name}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('refuses a Cluster without a uid (it was not read from the API server)', () => {
    expect(() => ownerReference({ metadata: { name: 'qs', namespace: 'prod' } })).toThrow(/uid/);
  });
});

describe('Services', () => {
  it('headless: DNS for every pod, ready or not', () => {
    const service = buildHeadlessService(aResolvedCluster());
    expect(service.metadata?.name).toBe('qs-headless');
    expect(service.spec).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: true });
    expect(service.spec?.ports?.map((p) => p.port)).toEqual([7000, 8080, 2112]);
    expect(service.metadata?.annotations).toBeUndefined();
  });

  it('headless: scrape annotations when monitoring is on', () => {
    const service = buildHeadlessService(aResolvedCluster({ monitoring: { enabled: true } }));
    expect(service.metadata?.annotations).toEqual({
      'prometheus.io/scrape': 'true',
      'prometheus.io/port': '2112',
      'prometheus.io/path': '/metrics',
    });
  });

  it('client: the REST port over ready pods, type and annotations from the spec', () => {
    const service = buildClientService(
      aResolvedCluster({ service: { type: 'LoadBalancer', annotations: { a: 'b' } } }),
    );
    expect(service.metadata).toMatchObject({ name: 'qs', annotations: { a: 'b' } });
    expect(service.spec).toMatchObject({
      type: 'LoadBalancer',
      selector: { 'app.kubernetes.io/name': 'quorumstore', 'app.kubernetes.io/instance': 'qs' },
      ports: [{ name: 'http', port: 8080, targetPort: 'http', protocol: 'TCP' }],
    });
    expect(service.spec?.publishNotReadyAddresses).toBeUndefined();
  });

  it('selector string for the scale subresource', () => {
    expect(selectorString('qs')).toBe(
      'app.kubernetes.io/instance=qs,app.kubernetes.io/name=quorumstore',
    );
  });
});

describe('ConfigMap', () => {
  it('configures redis: loopback only, AOF with the spec’s fsync, data on the volume', () => {
    const conf = buildConfigMap(aResolvedCluster({ redis: { appendfsync: 'always' } })).data?.[
      'redis.conf'
    ];
    const lines = conf?.split('\n') ?? [];
    expect(lines).toEqual(
      expect.arrayContaining([
        'bind 127.0.0.1',
        'port 6379',
        'dir /data',
        'appendonly yes',
        'appendfsync always',
        'save ""',
      ]),
    );
    expect(conf).not.toMatch(/requirepass/);
  });

  it('hash ignores key order', () => {
    expect(configHash({ data: { a: '1', b: '2' } })).toBe(configHash({ data: { b: '2', a: '1' } }));
    expect(configHash({ data: { a: '1' } })).not.toBe(configHash({ data: { a: '2' } }));
  });
});

describe('generated Secrets', () => {
  it('carries the injected random value under the referenced key', () => {
    const secret = buildGeneratedSecret(aResolvedCluster(), 'redisPassword', RANDOM);
    expect(secret).toMatchObject({
      kind: 'Secret',
      type: 'Opaque',
      metadata: { name: 'qs-redis' },
    });
    expect(Buffer.from(secret.data?.password ?? '', 'base64').toString()).toBe(RANDOM);
  });

  it('is generated only for references the user did not point elsewhere', () => {
    expect(secretsToGenerate(aResolvedCluster())).toEqual([
      'clusterSecret',
      'redisPassword',
      'apiKey',
    ]);
    expect(
      secretsToGenerate(aResolvedCluster({ auth: { clusterSecretRef: { name: 'mine' } } })),
    ).toEqual(['redisPassword', 'apiKey']);
  });

  it('always generates the API key Secret, <name>-api-key', () => {
    const secret = buildGeneratedSecret(aResolvedCluster(), 'apiKey', RANDOM);
    expect(secret.metadata?.name).toBe('qs-api-key');
    expect(Buffer.from(secret.data?.['api-key'] ?? '', 'base64').toString()).toBe(RANDOM);
  });

  it('keeps the previous cluster secret as <name>-cluster-secret-previous, key previous', () => {
    // The value as the cluster secret's data holds it (base64), copied unchanged.
    const value = Buffer.from('the-old-cluster-secret').toString('base64');
    const secret = buildPreviousClusterSecret(aResolvedCluster(), value);
    expect(secret).toMatchObject({
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'Opaque',
      metadata: {
        name: 'qs-cluster-secret-previous',
        labels: { 'app.kubernetes.io/component': 'credentials' },
      },
      data: { previous: value },
    });
  });

  it('refuses a value too short for CLUSTER_SECRET', () => {
    expect(() => buildGeneratedSecret(aResolvedCluster(), 'clusterSecret', 'short')).toThrow(/16/);
  });
});

describe('PodDisruptionBudget', () => {
  it('allows one node down at a time', () => {
    expect(buildPodDisruptionBudget(aResolvedCluster({ nodes: 3 }))).toMatchObject({
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      spec: {
        maxUnavailable: 1,
        selector: { matchLabels: { 'app.kubernetes.io/instance': 'qs' } },
      },
    });
  });

  it('is null at one node (it could never be met) and when disabled', () => {
    expect(buildPodDisruptionBudget(aResolvedCluster({ nodes: 1 }))).toBeNull();
    expect(
      buildPodDisruptionBudget(
        aResolvedCluster({ nodes: 3, podDisruptionBudget: { enabled: false } }),
      ),
    ).toBeNull();
  });
});

describe('NetworkPolicy', () => {
  it('is null unless enabled', () => {
    expect(buildNetworkPolicy(aResolvedCluster())).toBeNull();
  });

  it('opens the peer port to the Cluster’s pods only, the client ports to allowed namespaces', () => {
    const allowed = { matchLabels: { team: 'apps' } };
    const policy = buildNetworkPolicy(
      aResolvedCluster({ networkPolicy: { enabled: true, allowedNamespaces: [allowed] } }),
      'quorumstore-system',
    );
    const ownPods = {
      podSelector: {
        matchLabels: {
          'app.kubernetes.io/name': 'quorumstore',
          'app.kubernetes.io/instance': 'qs',
        },
      },
    };
    expect(policy?.spec?.policyTypes).toEqual(['Ingress']);
    expect(policy?.spec?.podSelector).toEqual(ownPods.podSelector);
    const [peers, clients] = policy?.spec?.ingress ?? [];
    expect(peers?._from).toEqual([ownPods]);
    expect(peers?.ports?.map((p) => p.port)).toContain('peer');
    expect(clients?.ports?.map((p) => p.port)).toEqual(['http', 'metrics']);
    expect(clients?._from).toEqual([
      { podSelector: {} },
      {
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'quorumstore-system' } },
      },
      { namespaceSelector: allowed },
    ]);
  });

  it('does not repeat the Cluster’s own namespace for an operator running there', () => {
    const policy = buildNetworkPolicy(
      aResolvedCluster({ networkPolicy: { enabled: true } }),
      'prod',
    );
    expect(policy?.spec?.ingress?.[1]?._from).toEqual([{ podSelector: {} }]);
  });
});
